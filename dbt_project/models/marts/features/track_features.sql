-- Track popularity and trend per phase (fit: pairs of events_fit at label_start; serve: of
-- events_train at split_date), both phases in one pass over the train pairs with the same
-- expressions per phase (feature_phases), so both are scaled identically. A pair has a listen
-- in a phase exactly when its <prefix>last_listen is not null, which the aggregates use
-- instead of a FILTER each (nulls are skipped): at full scale the 12 aggregates over ~175M
-- pairs are the cost, and grouping by track_id alone with the reference dates as scalar
-- subqueries is ~25% cheaper than FILTERs and a cross join. Only tracks heard in a phase
-- have a row in it.
with pairs as (  -- the train pairs; every fit pair is one
    select
        track_id,
        first_listen,
        fit_listen_count,
        fit_last_listen,
        train_listen_count,
        train_last_listen
    from {{ ref('int_events_aggregated') }}
    where train_listen_count > 0
),

track_groups as (
    select track_id, track_group_id from {{ ref('items') }}
),

per_track as (
    select
        pairs.track_id
        {%- for phase, prefix, cutoff in feature_phases() %}
        {%- set ref_date = '(select ' ~ cutoff ~ ' from ' ~ ref('split_info') ~ ')' %}
        {%- set last = 'pairs.' ~ prefix ~ 'last_listen' %},
        cast(sum(pairs.{{ prefix }}listen_count) as bigint) as n_listens_{{ phase }},
        count({{ last }}) as n_users_{{ phase }},
        sum(pairs.{{ prefix }}listen_count * exp(
            -ln(2) * ({{ ref_date }} - {{ last }}) / {{ var('recency_half_life_days') }}
        )) as pop_recency_{{ phase }},
        count(*) filter (where {{ last }} > {{ ref_date }} - 7) as n_users_last_7d_{{ phase }},
        count(*) filter (
            where {{ last }} > {{ ref_date }} - 14 and {{ last }} <= {{ ref_date }} - 7
        ) as n_users_prev_7d_{{ phase }},
        cast({{ ref_date }} - min(case when {{ last }} is not null then pairs.first_listen end)
            as integer) as days_since_first_{{ phase }}
        {%- endfor %}
    from pairs
    group by pairs.track_id
),

per_phase as (
    {%- for phase, prefix, cutoff in feature_phases() %}
    select
        '{{ phase }}' as phase,
        track_id,
        n_listens_{{ phase }} as n_listens,
        n_users_{{ phase }} as n_users,
        pop_recency_{{ phase }} as pop_recency,
        n_users_last_7d_{{ phase }} as n_users_last_7d,
        n_users_prev_7d_{{ phase }} as n_users_prev_7d,
        days_since_first_{{ phase }} as days_since_first
    from per_track
    where n_users_{{ phase }} > 0
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),

grouped as (
    select
        per_phase.*,
        track_groups.track_group_id
    from per_phase
    inner join track_groups on per_phase.track_id = track_groups.track_id
),

final as (
    select
        phase,
        track_id,
        n_listens,
        n_users,
        pop_recency,
        n_users_last_7d,
        n_users_prev_7d,
        ln((n_users_last_7d + 1.0) / (n_users_prev_7d + 1.0)) as trend,
        days_since_first,
        count(*) over (partition by phase, track_group_id) as group_size
    from grouped
)

select * from final
