-- Contiguous 0-based column index of every track in events_train (ALS matrix columns): the
-- tracks with a serve row in track_features, i.e. heard in train (instead of a distinct over
-- every train pair).
with train as (
    select track_id from {{ ref('track_features') }} where phase = 'serve'
),

indexed as (
    select track_id, cast(row_number() over (order by track_id) - 1 as integer) as track_idx
    from train
)

select * from indexed
