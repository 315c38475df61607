-- No event of any events table refers to a non-canonical (duplicate) or unknown track id.
-- Distinct ids per relation first: a few hundred thousand ids to check instead of every row.
-- events_train and events_fit are views filtering the same int_events_aggregated rows as
-- events, so checking events checks their ids too (three scans of 188M rows at full scale
-- would prove nothing more); events_test and events_labels are stored tables of their own.
with distinct_ids as (
    select distinct 'events' as relation_name, track_id from {{ ref('events') }}
    union all
    select distinct 'events_test' as relation_name, track_id from {{ ref('events_test') }}
    union all
    select distinct 'events_labels' as relation_name, track_id from {{ ref('events_labels') }}
)

select distinct_ids.relation_name, distinct_ids.track_id, map_tracks.canonical_id
from distinct_ids
left join {{ ref('map_tracks') }} as map_tracks on distinct_ids.track_id = map_tracks.raw_id
where map_tracks.canonical_id is null or map_tracks.canonical_id <> distinct_ids.track_id
