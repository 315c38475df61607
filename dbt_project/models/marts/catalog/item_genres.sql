-- (canonical track, canonical genre) pairs: for per-genre popularity and diversity.
with items as (
    select track_id, genre_ids from {{ ref('items') }}
),

exploded as (
    select track_id, unnest(genre_ids) as genre_id
    from items
)

select distinct track_id, genre_id from exploded
