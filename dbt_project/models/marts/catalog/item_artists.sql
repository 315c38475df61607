-- (canonical track, canonical artist) pairs.
with items as (
    select track_id, artist_ids from {{ ref('items') }}
),

exploded as (
    select track_id, unnest(artist_ids) as artist_id
    from items
)

select distinct track_id, artist_id from exploded
