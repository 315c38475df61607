-- Contiguous 0-based row index of every user in events_train (ALS matrix rows).
with train as (
    select distinct user_id from {{ ref('events_train') }}
),

indexed as (
    select user_id, cast(row_number() over (order by user_id) - 1 as integer) as user_idx
    from train
)

select * from indexed
