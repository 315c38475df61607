-- Train listens in (label_start, split_date] of pairs not in fit: the ranker's positives.
with listens as (
    select * from {{ ref('int_listens_unioned') }}
),

split as (
    select label_start, split_date from {{ ref('split_info') }}
),

fit_pairs as (
    select user_id, track_id from {{ ref('events_fit') }}
),

label_listens as (
    select listens.*
    from listens
    cross join split
    where listens.listen_date > split.label_start
        and listens.listen_date <= split.split_date
),

aggregated as (
    {{ aggregate_listens('label_listens') }}
),

unseen as (
    select aggregated.*
    from aggregated
    anti join fit_pairs
        on fit_pairs.user_id = aggregated.user_id
        and fit_pairs.track_id = aggregated.track_id
)

select * from unseen
