-- Fit ends on label_start, labels lie in (label_start, split_date], no pair in both.
with split as (
    select * from {{ ref('split_info') }}
),

fit_late as (
    select 'fit listen after label_start' as problem, user_id, track_id
    from {{ ref('events_fit') }} cross join split
    where last_listen > split.label_start
),

labels_outside as (
    select 'label listen outside (label_start, split_date]' as problem, user_id, track_id
    from {{ ref('events_labels') }} cross join split
    where first_listen <= split.label_start or last_listen > split.split_date
),

both_sets as (
    select 'pair in fit and labels' as problem, user_id, track_id
    from {{ ref('events_fit') }}
    inner join {{ ref('events_labels') }} using (user_id, track_id)
)

select * from fit_late
union all select * from labels_outside
union all select * from both_sets
