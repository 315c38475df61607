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

member_entities as (  -- entities of every raw member, on canonical entity ids
    {%- for entity_type, relation in [('artist', 'artists'), ('album', 'albums'), ('genre', 'genres')] %}
    select
        track_map.canonical_id as track_id,
        track_map.raw_id as member_id,
        entities.entity_type,
        entities.entity_pos,
        {{ relation }}.canonical_id as entity_id
    from track_map
    inner join entities on entities.track_id = track_map.raw_id
    inner join {{ relation }} on {{ relation }}.raw_id = entities.entity_id
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
        string_agg(names.display_name, ', ' order by credited.entity_pos) as artist_names
    from (
        select track_id, entity_id, min(entity_pos) as entity_pos
        from member_entities
        where entity_type = 'artist' and member_id = track_id
        group by track_id, entity_id
    ) as credited
    left join (select raw_id, display_name from artists where raw_id = canonical_id) as names
        on names.raw_id = credited.entity_id
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
        string_agg(names.display_name, ', ' order by listed.entity_id) as genre_names
    from (
        select distinct track_id, entity_id
        from member_entities
        where entity_type = 'genre'
    ) as listed
    left join (select raw_id, display_name from genres where raw_id = canonical_id) as names
        on names.raw_id = listed.entity_id
    group by listed.track_id
),

final as (
    select
        tracks.track_id,
        tracks.display_name as track_name,
        coalesce(track_artists.artist_ids, []) as artist_ids,
        track_artists.artist_names,
        track_albums.album_id,
        album_names.display_name as album_name,
        coalesce(track_genres.genre_ids, []) as genre_ids,
        track_genres.genre_names,
        tracks.track_group_id,
        tracks.version_type
    from tracks
    left join track_artists on track_artists.track_id = tracks.track_id
    left join track_albums on track_albums.track_id = tracks.track_id
    left join track_genres on track_genres.track_id = tracks.track_id
    left join (select raw_id, display_name from albums where raw_id = canonical_id) as album_names
        on album_names.raw_id = track_albums.album_id
)

select * from final
