-- Raw tracks with typed id lists (int lists are widened to BIGINT; null lists become empty).
with source as (
    select * from {{ source('yandex', 'tracks') }}
),

renamed as (
    select
        cast(track_id as bigint) as track_id,
        coalesce(cast(albums as bigint[]), []) as album_ids,
        coalesce(cast(artists as bigint[]), []) as artist_ids,
        coalesce(cast(genres as bigint[]), []) as genre_ids
    from source
)

select * from renamed
