-- One row per canonical track with its song group: originals, remixes, live versions and
-- covers of one song share (cleaned title, canonical artist set); the group id is the
-- smallest canonical track id in it. Tracks without artists or name stay alone.
with tracks as (
    select * from {{ ref('int_tracks_deduplicated') }}
),

canonical_tracks as (
    select
        raw_id as track_id,
        raw_name,
        display_name,
        std_clean_name,
        version_type,
        artist_set
    from tracks
    where raw_id = canonical_id
),

keyed as (
    select
        *,
        case
            when coalesce(std_clean_name, '') = '' or len(artist_set) = 0
                then '#id:' || cast(track_id as varchar)
            else std_clean_name || '|' || array_to_string(artist_set, ',')
        end as group_key
    from canonical_tracks
),

grouped as (
    select *, min(track_id) over (partition by group_key) as track_group_id
    from keyed
)

select track_id, raw_name, display_name, std_clean_name, version_type, artist_set, track_group_id
from grouped
