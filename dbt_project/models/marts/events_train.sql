-- Listens on or before split_date, per (user, track): everything models and features learn from.
with train as (
    {{ events_window('train_') }}
)

select * from train
