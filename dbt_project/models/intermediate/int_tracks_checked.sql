-- Every row of tracks.parquet with the contract it breaks, if any (`issue`, null = usable):
-- a null track_id, or a repeated track_id (one row is kept: the one with the smallest
-- lists). Null ids inside the lists are removed (had_null_list_ids). Downstream models read
-- the rows with a null issue; the data_quality mart counts the others.
with tracks as (
    select * from {{ ref('stg_yandex__tracks') }}
),

cleaned as (
    select
        track_id,
        list_filter(album_ids, x -> x is not null) as album_ids,
        list_filter(artist_ids, x -> x is not null) as artist_ids,
        list_filter(genre_ids, x -> x is not null) as genre_ids,
        list_position(album_ids, null) is not null
            or list_position(artist_ids, null) is not null
            or list_position(genre_ids, null) is not null as had_null_list_ids
    from tracks
),

checked as (
    select
        *,
        case
            when track_id is null then 'null_track_id'
            when row_number() over (
                partition by track_id order by album_ids, artist_ids, genre_ids) > 1
                then 'duplicate_track_id'
        end as issue
    from cleaned
)

select track_id, album_ids, artist_ids, genre_ids, had_null_list_ids, issue
from checked
