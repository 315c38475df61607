-- One row per (track, entity type, list position). A track with an empty list keeps one row
-- with a null entity_id, so no track disappears from later joins by accident. Only usable
-- rows of tracks.parquet (int_tracks_checked: one row per track id, no null list ids).
with tracks as (
    select track_id, album_ids, artist_ids, genre_ids
    from {{ ref('int_tracks_checked') }}
    where issue is null
),

entity_lists as (
    select track_id, 'album' as entity_type, album_ids as entity_ids from tracks
    union all
    select track_id, 'artist' as entity_type, artist_ids as entity_ids from tracks
    union all
    select track_id, 'genre' as entity_type, genre_ids as entity_ids from tracks
),

exploded as (
    select
        track_id,
        entity_type,
        unnest(case when len(entity_ids) = 0 then [cast(null as bigint)] else entity_ids end)
            as entity_id,
        unnest(case when len(entity_ids) = 0 then [cast(null as integer)]
            else cast(range(1, len(entity_ids) + 1) as integer[]) end) as entity_pos
    from entity_lists
)

select * from exploded
