-- Fit ends on label_start, labels lie in (label_start, split_date], no pair in both.
with split as (
    select * from {{ ref('split_info') }}
),

fit_late as (
    select 'fit listen after label_start' as problem, fit.user_id, fit.track_id
    from {{ ref('events_fit') }} as fit
    cross join split
    where fit.last_listen > split.label_start
),

labels_outside as (
    select 'label listen outside (label_start, split_date]' as problem, labels.user_id, labels.track_id
    from {{ ref('events_labels') }} as labels
    cross join split
    where labels.first_listen <= split.label_start or labels.last_listen > split.split_date
),

both_sets as (
    select 'pair in fit and labels' as problem, fit.user_id, fit.track_id
    from {{ ref('events_fit') }} as fit
    inner join {{ ref('events_labels') }} as labels
        on fit.user_id = labels.user_id and fit.track_id = labels.track_id
)

select * from fit_late
union all
select * from labels_outside
union all
select * from both_sets
