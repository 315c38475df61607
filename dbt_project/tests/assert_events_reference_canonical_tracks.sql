-- No event of any events table refers to a non-canonical (duplicate) or unknown track id.
-- Distinct ids per table first: a few hundred thousand ids to check instead of every row.
with distinct_ids as (
    select distinct 'events' as source, track_id from {{ ref('events') }}
    union all select distinct 'events_train', track_id from {{ ref('events_train') }}
    union all select distinct 'events_test', track_id from {{ ref('events_test') }}
    union all select distinct 'events_fit', track_id from {{ ref('events_fit') }}
    union all select distinct 'events_labels', track_id from {{ ref('events_labels') }}
)

select distinct_ids.source, distinct_ids.track_id, map_tracks.canonical_id
from distinct_ids
left join {{ ref('map_tracks') }} as map_tracks on map_tracks.raw_id = distinct_ids.track_id
where map_tracks.canonical_id is null or map_tracks.canonical_id <> distinct_ids.track_id
