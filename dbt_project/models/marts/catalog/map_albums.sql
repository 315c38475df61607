-- Every raw album id with its canonical id (the smallest raw id of its duplicate group).
with deduplicated as (
    select * from {{ ref('int_albums_deduplicated') }}
),

final as (
    select raw_id, canonical_id
    from deduplicated
)

select * from final
