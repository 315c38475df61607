{{ config(materialized='view') }}
-- Compact catalog for serving: names ready to show, one row per canonical track. A view: the
-- columns of `items` under their serving names, not a second stored copy.
with items as (
    select * from {{ ref('items') }}
),

final as (
    select
        track_id,
        track_name,
        artist_names as artist_name,
        album_name,
        genre_names as genre_name,
        track_group_id
    from items
)

select * from final
