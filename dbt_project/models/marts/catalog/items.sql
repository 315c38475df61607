-- The clean catalog: one row per canonical track, with canonical artists (in credit order),
-- album, genres (union over the track's duplicate ids), song group and version type.
with tracks as (
    select * from {{ ref('int_tracks_grouped') }}
),

track_map as (
    select raw_id, canonical_id from {{ ref('int_tracks_deduplicated') }}
),

entities as (
    select * from {{ ref('int_track_entities_exploded') }}
    where entity_id is not null
),

artists as (
    select raw_id, canonical_id, display_name from {{ ref('int_artists_deduplicated') }}
),

albums as (
    select raw_id, canonical_id, display_name from {{ ref('int_albums_deduplicated') }}
),

genres as (
    select raw_id, canonical_id, display_name from {{ ref('int_genres_deduplicated') }}
),

named_artists as (  -- display names of the canonical ids
    select raw_id as artist_id, display_name from artists where raw_id = canonical_id
),

named_albums as (
    select raw_id as album_id, display_name from albums where raw_id = canonical_id
),

named_genres as (
    select raw_id as genre_id, display_name from genres where raw_id = canonical_id
),

member_entities as (  -- entities of every raw member, on canonical entity ids
    {%- for entity_type, relation in [('artist', 'artists'), ('album', 'albums'), ('genre', 'genres')] %}
    select
        track_map.canonical_id as track_id,
        track_map.raw_id as member_id,
        entities.entity_type,
        entities.entity_pos,
        {{ relation }}.canonical_id as entity_id
    from track_map
    inner join entities on track_map.raw_id = entities.track_id
    inner join {{ relation }} on entities.entity_id = {{ relation }}.raw_id
    where entities.entity_type = '{{ entity_type }}'
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),

track_artists as (  -- credit order of the canonical raw track
    select
        credited.track_id,
        list(credited.entity_id order by credited.entity_pos) as artist_ids,
        string_agg(named_artists.display_name, ', ' order by credited.entity_pos) as artist_names
    from (
        select track_id, entity_id, min(entity_pos) as entity_pos
        from member_entities
        where entity_type = 'artist' and member_id = track_id
        group by track_id, entity_id
    ) as credited
    left join named_artists on credited.entity_id = named_artists.artist_id
    group by credited.track_id
),

track_albums as (  -- first album of the smallest member id that has one
    select track_id, arg_min(entity_id, member_id) as album_id
    from member_entities
    where entity_type = 'album' and entity_pos = 1
    group by track_id
),

track_genres as (  -- union over the duplicate ids
    select
        listed.track_id,
        list(listed.entity_id order by listed.entity_id) as genre_ids,
        string_agg(named_genres.display_name, ', ' order by listed.entity_id) as genre_names
    from (
        select distinct track_id, entity_id
        from member_entities
        where entity_type = 'genre'
    ) as listed
    left join named_genres on listed.entity_id = named_genres.genre_id
    group by listed.track_id
),

final as (
    select
        tracks.track_id,
        tracks.display_name as track_name,
        coalesce(track_artists.artist_ids, []) as artist_ids,
        track_artists.artist_names,
        track_albums.album_id,
        named_albums.display_name as album_name,
        coalesce(track_genres.genre_ids, []) as genre_ids,
        track_genres.genre_names,
        tracks.track_group_id,
        tracks.version_type
    from tracks
    left join track_artists on tracks.track_id = track_artists.track_id
    left join track_albums on tracks.track_id = track_albums.track_id
    left join track_genres on tracks.track_id = track_genres.track_id
    left join named_albums on track_albums.album_id = named_albums.album_id
)

select * from final
