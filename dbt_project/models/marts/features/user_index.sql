-- Contiguous 0-based row index of every user in events_train (ALS matrix rows): the users
-- with a serve row in user_features, i.e. with a train listen.
with train as (
    select user_id from {{ ref('user_features') }} where phase = 'serve'
),

indexed as (
    select user_id, cast(row_number() over (order by user_id) - 1 as integer) as user_idx
    from train
)

select * from indexed
