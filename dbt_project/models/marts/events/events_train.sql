{{ config(materialized='view') }}
-- Listens on or before split_date, per (user, track): everything models and features learn from.
-- A view of int_events_aggregated (a filtered copy cost ~30 s and 174M rows at full scale).
with train as (
    {{ events_window('train_') }}
)

select * from train
