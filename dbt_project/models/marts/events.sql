-- All listens (filtered log + online events) per (user, canonical track).
with listens as (
    select * from {{ ref('int_listens_unioned') }}
),

aggregated as (
    {{ aggregate_listens('listens') }}
)

select * from aggregated
