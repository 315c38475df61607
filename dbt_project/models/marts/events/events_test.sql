-- Listens after split_date of (user, track) pairs absent from events_train; scoring only.
-- A pair is absent from train exactly when its first listen is after split_date, and then
-- all its listens are: so this is the filter of `events`, with no second pass over listens.
with events as (
    select * from {{ ref('events') }}
),

split as (
    select split_date from {{ ref('split_info') }}
),

unseen_in_train as (
    select events.*
    from events
    cross join split
    where events.first_listen > split.split_date
)

select * from unseen_in_train
