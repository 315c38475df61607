-- Every kept listen is counted exactly once in events, and train + later listens add up: no
-- listen is lost between the log and the events tables (duplicate ids included). And the
-- track_seq cut touches the train window only: every usable log listen after split_date
-- reaches the events (test truth keeps them all), and the log listens kept are exactly the
-- usable ones (int_listens_mapped) minus the cut train listens. One scan of the listens.
with split as (
    select * from {{ ref('int_split_dates_computed') }}
),

listens as (
    select
        count(*) as n,
        count(*) filter (where listens.listen_date > split.split_date) as n_later,
        count(*) filter (where listens.listen_source = 'log') as n_log
    from {{ ref('int_listens_unioned') }} as listens
    cross join split
),

events as (
    select sum(listen_count) as n from {{ ref('events') }}
),

train as (
    select sum(listen_count) as n from {{ ref('events_train') }}
)

select
    listens.n as listens, events.n as events_listens, train.n + listens.n_later as train_plus_later,
    listens.n_later as later_listens, split.n_test_listens as usable_test_listens,
    listens.n_log as log_listens_kept, split.n_log_listens - split.n_cut_listens as usable_minus_cut
from listens, events, train, split
where listens.n <> coalesce(events.n, 0)
    or listens.n <> coalesce(train.n, 0) + listens.n_later
    or listens.n_later <> split.n_test_listens
    or listens.n_log <> split.n_log_listens - split.n_cut_listens
