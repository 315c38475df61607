{{ config(materialized='view') }}
-- Every raw album id with its canonical id (the smallest raw id of its duplicate group). A view:
-- two columns of int_albums_deduplicated.
with deduplicated as (
    select * from {{ ref('int_albums_deduplicated') }}
),

final as (
    select raw_id, canonical_id
    from deduplicated
)

select * from final
