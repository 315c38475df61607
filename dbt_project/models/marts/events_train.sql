-- Listens on or before split_date, per (user, track): everything models and features learn from.
with listens as (
    select * from {{ ref('int_listens_unioned') }}
),

split as (
    select split_date from {{ ref('split_info') }}
),

train_listens as (
    select listens.*
    from listens
    cross join split
    where listens.listen_date <= split.split_date
),

aggregated as (
    {{ aggregate_listens('train_listens') }}
)

select * from aggregated
