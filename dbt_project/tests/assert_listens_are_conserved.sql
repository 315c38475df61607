-- Every kept listen is counted exactly once in events, and train + later listens add up: no
-- listen is lost between the log and the events tables (duplicate ids included). And the
-- track_seq cut touches the train window only: every usable log listen after split_date
-- reaches the events (test truth keeps them all), and the log listens kept are exactly the
-- usable ones (int_listens_mapped) minus the cut train listens.
with split as (
    select * from {{ ref('int_split_dates_computed') }}
),

listens as (
    select count(*) as n from {{ ref('int_listens_unioned') }}
),

events as (
    select sum(listen_count) as n from {{ ref('events') }}
),

later as (
    select count(*) as n from {{ ref('int_listens_unioned') }}
    where listen_date > (select split_date from split)
),

train_and_later as (
    select (select sum(listen_count) from {{ ref('events_train') }}) + later.n as n
    from later
),

log_kept as (
    select count(*) as n from {{ ref('int_listens_unioned') }} where listen_source = 'log'
)

select
    listens.n as listens, events.n as events_listens, train_and_later.n as train_plus_later,
    later.n as later_listens, split.n_test_listens as usable_test_listens,
    log_kept.n as log_listens_kept, split.n_log_listens - split.n_cut_listens as usable_minus_cut
from listens, events, train_and_later, later, log_kept, split
where listens.n <> coalesce(events.n, 0)
    or listens.n <> coalesce(train_and_later.n, 0)
    or later.n <> split.n_test_listens
    or log_kept.n <> split.n_log_listens - split.n_cut_listens
