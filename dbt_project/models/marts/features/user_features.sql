-- User activity per phase (fit: up to label_start; serve: up to split_date), both phases in
-- one pass over the train pairs and one over the listens (the distinct (user, day) pairs up
-- to split_date: active days need listen dates, which the pairs keep only as first/last).
-- Same expressions per phase (feature_phases), as in track_features: a pair is in a phase
-- exactly when its <prefix>last_listen is not null.
with pairs as (  -- the train pairs; every fit pair is one
    select
        user_id,
        first_listen,
        fit_listen_count,
        fit_last_listen,
        train_listen_count,
        train_last_listen
    from {{ ref('int_events_aggregated') }}
    where train_listen_count > 0
),

listens as (
    select user_id, listen_date from {{ ref('int_listens_unioned') }}
),

cutoffs as (
    select label_start, split_date from {{ ref('split_info') }}
),

per_user as (
    select
        user_id
        {%- for phase, prefix, cutoff in feature_phases() %}
        {%- set last = prefix ~ 'last_listen' %},
        count({{ last }}) as n_tracks_{{ phase }},
        min(case when {{ last }} is not null then first_listen end) as first_listen_{{ phase }},
        max({{ last }}) as last_listen_{{ phase }}
        {%- endfor %}
    from pairs
    group by user_id
),

user_days as (
    select distinct
        listens.user_id,
        listens.listen_date
    from listens
    cross join cutoffs
    where listens.listen_date <= cutoffs.split_date
),

active_days as (
    select
        user_days.user_id
        {%- for phase, prefix, cutoff in feature_phases() %},
        count(*) filter (
            where user_days.listen_date <= cutoffs.{{ cutoff }}
        ) as n_active_days_{{ phase }}
        {%- endfor %}
    from user_days
    cross join cutoffs
    group by user_days.user_id
),

final as (
    {%- for phase, prefix, cutoff in feature_phases() %}
    select
        '{{ phase }}' as phase,
        per_user.user_id,
        per_user.n_tracks_{{ phase }} as n_tracks,
        active_days.n_active_days_{{ phase }} as n_active_days,
        per_user.first_listen_{{ phase }} as first_listen,
        per_user.last_listen_{{ phase }} as last_listen,
        cast(cutoffs.{{ cutoff }} - per_user.last_listen_{{ phase }} as integer) as days_since_last
    from per_user
    inner join active_days on per_user.user_id = active_days.user_id
    cross join cutoffs
    where per_user.n_tracks_{{ phase }} > 0
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
)

select * from final
