-- Train listens in (label_start, split_date] of pairs absent from events_fit: the ranker's
-- positives. A train pair is absent from fit exactly when its first listen is after
-- label_start, and then all its train listens lie in the label window: a filter of
-- events_train.
with train as (
    select * from {{ ref('events_train') }}
),

split as (
    select label_start from {{ ref('split_info') }}
),

unseen_in_fit as (
    select train.*
    from train
    cross join split
    where train.first_listen > split.label_start
)

select * from unseen_in_fit
