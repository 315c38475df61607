-- Every kept listen is counted exactly once in events, and train + later listens add up:
-- no listen is lost between the log and the events tables (duplicate ids included).
with listens as (
    select count(*) as n from {{ ref('int_listens_unioned') }}
),

events as (
    select sum(listen_count) as n from {{ ref('events') }}
),

train_and_later as (
    select
        (select sum(listen_count) from {{ ref('events_train') }})
        + (select count(*) from {{ ref('int_listens_unioned') }}
           where listen_date > (select split_date from {{ ref('split_info') }})) as n
)

select listens.n as listens, events.n as events_listens, train_and_later.n as train_plus_later
from listens, events, train_and_later
where listens.n <> coalesce(events.n, 0) or listens.n <> coalesce(train_and_later.n, 0)
