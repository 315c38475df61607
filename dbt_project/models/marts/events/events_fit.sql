{{ config(materialized='view') }}
-- Train listens on or before label_start: what the ranker's candidates and features see.
-- A view of int_events_aggregated (a filtered copy cost ~30 s and 161M rows at full scale).
with fit as (
    {{ events_window('fit_') }}
)

select * from fit
