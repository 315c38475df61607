-- Contiguous 0-based column index of every track in events_train (ALS matrix columns).
with train as (
    select distinct track_id from {{ ref('events_train') }}
),

indexed as (
    select track_id, cast(row_number() over (order by track_id) - 1 as integer) as track_idx
    from train
)

select * from indexed
