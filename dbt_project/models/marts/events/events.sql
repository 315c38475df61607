{{ config(materialized='view') }}
-- All listens (filtered log + online events) per (user, canonical track). A view: the rows
-- are int_events_aggregated's, which is stored ordered by user, so the services' point
-- queries on user_id prune row groups through it.
with aggregated as (
    {{ events_window('') }}
)

select * from aggregated
