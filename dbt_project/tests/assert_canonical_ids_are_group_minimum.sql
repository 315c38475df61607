-- A canonical id is the smallest raw id of its group and maps to itself, for all four maps.
with maps as (
    select 'track' as entity, raw_id, canonical_id from {{ ref('map_tracks') }}
    union all
    select 'album' as entity, raw_id, canonical_id from {{ ref('map_albums') }}
    union all
    select 'artist' as entity, raw_id, canonical_id from {{ ref('map_artists') }}
    union all
    select 'genre' as entity, raw_id, canonical_id from {{ ref('map_genres') }}
),

group_minimum as (
    select entity, canonical_id, min(raw_id) as min_raw_id
    from maps
    group by entity, canonical_id
)

select entity, canonical_id, min_raw_id
from group_minimum
where min_raw_id <> canonical_id
