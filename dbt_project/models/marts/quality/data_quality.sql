-- What the raw files held that breaks their contract, and what the build did with it: one
-- row per check (n_rows 0 when the data is clean), so a real, messy log builds instead of
-- failing, and nothing is dropped or patched without a count. Only unusable files stop the
-- build (music_recs.raw checks presence, columns and types first).
with catalog_issues as (
    select 'catalog_names.parquet' as source_file, issue as check_name, count(*) as n_rows
    from {{ ref('int_catalog_names_checked') }}
    where issue is not null
    group by issue
),

track_issues as (
    select 'tracks.parquet' as source_file, issue as check_name, count(*) as n_rows
    from {{ ref('int_tracks_checked') }}
    where issue is not null
    group by issue
),

usable_tracks as (
    select track_id, had_null_list_ids from {{ ref('int_tracks_checked') }} where issue is null
),

listens as (
    select * from {{ ref('int_interactions_counted') }}
),

listen_issues as (
    select 'interactions.parquet' as source_file, check_name, n_rows
    from (
        select 'null_user_id' as check_name, n_null_user_id as n_rows from listens
        union all
        select 'null_track_id' as check_name, n_null_track_id as n_rows from listens
        union all
        select 'null_started_at' as check_name, n_null_started_at as n_rows from listens
        union all  -- rows with a user, a track id and a date that int_listens_mapped did not keep
        select
            'unknown_track_id' as check_name,
            n_rows - n_null_user_id - n_null_track_id - n_null_started_at
            - (select count(*) from {{ ref('int_listens_mapped') }}) as n_rows
        from listens
    ) as per_check
),

other_counts as (
    select 'catalog_names.parquet' as source_file, 'track_name_without_track' as check_name,
        count(*) as n_rows
    from {{ ref('int_catalog_names_checked') }} as catalog_names
    where catalog_names.issue is null and catalog_names.entity_type = 'track'
        and catalog_names.entity_id not in (select usable_tracks.track_id from usable_tracks)
    union all
    select 'tracks.parquet' as source_file, 'null_list_id' as check_name, count(*) as n_rows
    from usable_tracks
    where had_null_list_ids
    {%- for entity in ['track', 'album', 'artist', 'genre'] %}
    union all
    select 'tracks.parquet' as source_file, '{{ entity }}_without_name' as check_name, count(*) as n_rows
    from {{ ref('int_' ~ entity ~ 's_deduplicated') }}
    where raw_name is null
    {%- endfor %}
    union all
    select 'interactions.parquet' as source_file, 'null_track_seq' as check_name, count(*) as n_rows
    from {{ ref('int_listens_mapped') }}
    where track_seq is null
),

counts as (
    select * from catalog_issues
    union all
    select * from track_issues
    union all
    select * from listen_issues
    union all
    select * from other_counts
),

checks (check_order, source_file, check_name, action) as (
    values
        (1, 'catalog_names.parquet', 'null_id', 'row dropped'),
        (2, 'catalog_names.parquet', 'unknown_type',
            'row dropped (only track, album, artist and genre names are read)'),
        (3, 'catalog_names.parquet', 'null_or_blank_name',
            'row dropped: the id stays unnamed and is never merged with another id'),
        (4, 'catalog_names.parquet', 'duplicate_id',
            'extra rows of a (type, id) dropped: the smallest name is kept'),
        (5, 'catalog_names.parquet', 'track_name_without_track',
            'ignored: only ids in tracks.parquet are catalog tracks'),
        (6, 'tracks.parquet', 'null_track_id', 'row dropped'),
        (7, 'tracks.parquet', 'duplicate_track_id',
            'extra rows of a track id dropped: the row with the smallest lists is kept'),
        (8, 'tracks.parquet', 'null_list_id', 'null ids removed from the album/artist/genre lists'),
        (9, 'tracks.parquet', 'track_without_name',
            'kept unnamed (track_name null); never merged with another track'),
        (10, 'tracks.parquet', 'album_without_name',
            'listed album id kept unnamed; never merged with another album'),
        (11, 'tracks.parquet', 'artist_without_name',
            'listed artist id kept unnamed; never merged with another artist'),
        (12, 'tracks.parquet', 'genre_without_name',
            'listed genre id kept unnamed; never merged with another genre'),
        (13, 'interactions.parquet', 'null_user_id', 'listen dropped'),
        (14, 'interactions.parquet', 'null_track_id', 'listen dropped'),
        (15, 'interactions.parquet', 'null_started_at', 'listen dropped'),
        (16, 'interactions.parquet', 'unknown_track_id', 'listen dropped: the id is not in tracks.parquet'),
        (17, 'interactions.parquet', 'null_track_seq', 'listen kept: the track_seq cut does not apply to it')
),

final as (
    select
        checks.check_name,
        checks.source_file,
        cast(coalesce(counts.n_rows, 0) as bigint) as n_rows,
        checks.action
    from checks
    left join counts
        on checks.source_file = counts.source_file and checks.check_name = counts.check_name
    order by checks.check_order
)

select * from final
