-- No feature reads beyond its phase's window (so none reads the test window): per phase the
-- features add up to exactly that phase's events, and no feature date is after its cutoff.
with split as (
    select * from {{ ref('split_info') }}
),

phase_events as (
    select 'fit' as phase, sum(listen_count) as n_listens, count(*) as n_pairs
    from {{ ref('events_fit') }}
    union all
    select 'serve' as phase, sum(listen_count) as n_listens, count(*) as n_pairs
    from {{ ref('events_train') }}
),

track_totals as (
    select phase, sum(n_listens) as n_listens, sum(n_users) as n_pairs
    from {{ ref('track_features') }}
    group by phase
),

user_totals as (
    select phase, sum(n_tracks) as n_pairs, max(last_listen) as last_listen
    from {{ ref('user_features') }}
    group by phase
),

cutoffs as (
    select 'fit' as phase, label_start as cutoff from split
    union all
    select 'serve' as phase, split_date as cutoff from split
)

select
    phase_events.phase,
    phase_events.n_listens,
    track_totals.n_listens as track_listens,
    user_totals.n_pairs as user_pairs,
    user_totals.last_listen,
    cutoffs.cutoff
from phase_events
left join track_totals on phase_events.phase = track_totals.phase
left join user_totals on phase_events.phase = user_totals.phase
inner join cutoffs on phase_events.phase = cutoffs.phase
where coalesce(track_totals.n_listens, 0) <> coalesce(phase_events.n_listens, 0)
    or coalesce(track_totals.n_pairs, 0) <> phase_events.n_pairs
    or coalesce(user_totals.n_pairs, 0) <> phase_events.n_pairs
    or user_totals.last_listen > cutoffs.cutoff
