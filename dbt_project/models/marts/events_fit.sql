-- Train listens on or before label_start: what the ranker's candidates and features see.
with listens as (
    select * from {{ ref('int_listens_unioned') }}
),

split as (
    select label_start from {{ ref('split_info') }}
),

fit_listens as (
    select listens.*
    from listens
    cross join split
    where listens.listen_date <= split.label_start
),

aggregated as (
    {{ aggregate_listens('fit_listens') }}
)

select * from aggregated
