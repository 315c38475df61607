-- Listens after split_date of pairs not seen in train: what evaluation scores against.
with listens as (
    select * from {{ ref('int_listens_unioned') }}
),

split as (
    select split_date from {{ ref('split_info') }}
),

train_pairs as (
    select user_id, track_id from {{ ref('events_train') }}
),

test_listens as (
    select listens.*
    from listens
    cross join split
    where listens.listen_date > split.split_date
),

aggregated as (
    {{ aggregate_listens('test_listens') }}
),

unseen as (
    select aggregated.*
    from aggregated
    anti join train_pairs
        on train_pairs.user_id = aggregated.user_id
        and train_pairs.track_id = aggregated.track_id
)

select * from unseen
