{{ config(materialized='view') }}
-- Every raw genre id with its canonical id (the smallest raw id of its duplicate group). A view:
-- two columns of int_genres_deduplicated.
with deduplicated as (
    select * from {{ ref('int_genres_deduplicated') }}
),

final as (
    select raw_id, canonical_id
    from deduplicated
)

select * from final
