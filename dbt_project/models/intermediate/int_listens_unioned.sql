{{ config(materialized='view') }}
-- Every listen the warehouse knows: the log after the track_seq cut plus online events, on
-- canonical ids. The cut drops train-window log listens deeper than the threshold (computed
-- on the train window only); every test-window listen stays, so the test truth is the
-- whole log after split_date. Online events belong to the train period: a wall-clock date
-- after the split is recorded as the split date (the log's clock ends there), so they reach
-- the served models and never the test window. Online ids outside the catalog are dropped
-- like log ones.
with split as (
    select split_date, track_seq_threshold from {{ ref('int_split_dates_computed') }}
),

log_listens as (
    select mapped.user_id, mapped.track_id, mapped.listen_date
    from {{ ref('int_listens_mapped') }} as mapped
    cross join split
    where mapped.listen_date > split.split_date
        or mapped.track_seq is null
        or mapped.track_seq <= split.track_seq_threshold
),

online_events as (
    select * from {{ ref('stg_events_service__online_events') }}
),

track_map as (
    select raw_id, canonical_id from {{ ref('int_tracks_deduplicated') }}
),

online_listens as (
    select
        online_events.user_id,
        track_map.canonical_id as track_id,
        least(online_events.listen_date, split.split_date) as listen_date
    from online_events
    inner join track_map on online_events.track_id = track_map.raw_id
    cross join split
    where online_events.user_id is not null and online_events.listen_date is not null
),

unioned as (
    select user_id, track_id, listen_date, 'log' as listen_source from log_listens
    union all
    select user_id, track_id, listen_date, 'online' as listen_source from online_listens
)

select * from unioned
