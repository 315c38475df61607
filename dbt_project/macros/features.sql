{#-
  Features of the two phases, each computed from that phase's events only: 'fit' from
  events_fit's pairs with the reference date label_start, 'serve' from events_train's with
  split_date. Both phases come from one pass over int_events_aggregated (whose fit_/train_
  columns are the two windows) and the same expressions per phase (feature_phases), so a
  model's features are scaled identically when it trains and when it serves; at full scale
  each pass is ~175M pairs, so one pass instead of two per mart matters.
-#}

{#- The phases: name, column prefix in int_events_aggregated, and the split_info column that
    is "today" for the phase. -#}
{% macro feature_phases() -%}
{{ return([('fit', 'fit_', 'label_start'), ('serve', 'train_', 'split_date')]) }}
{%- endmacro %}


{#- Track popularity and trend of both phases in one pass over the pairs (two passes were
    ~40 s at full scale). Every phase's columns come from the same expressions over its own
    count and last-date columns (`prefix`), filtered to the pairs with a listen in the phase,
    so both phases are scaled identically. A track has a row in a phase only if heard in it. -#}
{% macro track_features() -%}
with pairs as (
    select track_id, first_listen, fit_listen_count, fit_last_listen, train_listen_count,
        train_last_listen
    from {{ ref('int_events_aggregated') }}
    where train_listen_count > 0
),

cutoffs as (
    select label_start, split_date from {{ ref('split_info') }}
),

track_groups as (
    select track_id, track_group_id from {{ ref('items') }}
),

per_track as (
    select
        pairs.track_id
        {%- for phase, prefix, cutoff in feature_phases() %}
        {%- set heard = '(where pairs.' ~ prefix ~ 'listen_count > 0' %}
        {%- set ref_date = 'cutoffs.' ~ cutoff %}
        {%- set last = 'pairs.' ~ prefix ~ 'last_listen' %},
        cast(sum(pairs.{{ prefix }}listen_count) filter {{ heard }}) as bigint) as n_listens_{{ phase }},
        count(*) filter {{ heard }}) as n_users_{{ phase }},
        sum(pairs.{{ prefix }}listen_count * exp(
            -ln(2) * ({{ ref_date }} - {{ last }}) / {{ var('recency_half_life_days') }}
        )) filter {{ heard }}) as pop_recency_{{ phase }},
        count(*) filter {{ heard }} and {{ last }} > {{ ref_date }} - 7) as n_users_last_7d_{{ phase }},
        count(*) filter {{ heard }}
            and {{ last }} > {{ ref_date }} - 14 and {{ last }} <= {{ ref_date }} - 7
        ) as n_users_prev_7d_{{ phase }},
        cast({{ ref_date }} - min(pairs.first_listen) filter {{ heard }}) as integer)
            as days_since_first_{{ phase }}
        {%- endfor %}
    from pairs
    cross join cutoffs
    group by pairs.track_id, cutoffs.label_start, cutoffs.split_date
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
    select per_phase.*, track_groups.track_group_id
    from per_phase
    inner join track_groups on track_groups.track_id = per_phase.track_id
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
{%- endmacro %}


{#- User activity of both phases in one pass over the pairs and one over the listens (the
    distinct (user, day) pairs up to split_date: active days need listen dates, which the pairs
    keep only as first/last). Same expressions per phase, as in track_features. -#}
{% macro user_features() -%}
with pairs as (
    select user_id, first_listen, fit_listen_count, fit_last_listen, train_listen_count,
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
        {%- set heard = '(where ' ~ prefix ~ 'listen_count > 0)' %},
        count(*) filter {{ heard }} as n_tracks_{{ phase }},
        min(first_listen) filter {{ heard }} as first_listen_{{ phase }},
        max({{ prefix }}last_listen) filter {{ heard }} as last_listen_{{ phase }}
        {%- endfor %}
    from pairs
    group by user_id
),

user_days as (
    select distinct listens.user_id, listens.listen_date
    from listens
    cross join cutoffs
    where listens.listen_date <= cutoffs.split_date
),

active_days as (
    select
        user_days.user_id
        {%- for phase, prefix, cutoff in feature_phases() %},
        count(*) filter (where user_days.listen_date <= cutoffs.{{ cutoff }}) as n_active_days_{{ phase }}
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
    inner join active_days on active_days.user_id = per_user.user_id
    cross join cutoffs
    where per_user.n_tracks_{{ phase }} > 0
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
)

select * from final
{%- endmacro %}


{#- Per (user, entity): how many of the user's tracks carry the entity in each phase
    (n_tracks_fit / n_tracks_serve), both phases in one pass and one row. A (user, track) pair
    is in events_fit exactly when it is in events_train with first_listen <= label_start, so
    every fit pair is a serve pair and one row per serve pair holds both (148M rows for artists
    at full scale instead of 285M as one row per phase). Affinity counts pairs, not listens, so
    the fit counts are the train counts restricted to those pairs: the same numbers as reading
    events_fit. The shares are a view over this (user_affinity_shares): dividing by the user's
    track count is a join nobody needs to store. -#}
{% macro user_entity_counts(item_entities, entity_col) -%}
with events as (
    select user_id, track_id, first_listen from {{ ref('events_train') }}
),

split as (
    select label_start from {{ ref('split_info') }}
),

item_entities as (
    select track_id, {{ entity_col }} from {{ item_entities }}
),

counted as (
    select
        events.user_id,
        item_entities.{{ entity_col }},
        cast(count(*) filter (where events.first_listen <= split.label_start) as integer)
            as n_tracks_fit,
        cast(count(*) as integer) as n_tracks_serve
    from events
    cross join split
    inner join item_entities on item_entities.track_id = events.track_id
    group by events.user_id, item_entities.{{ entity_col }}
)

select * from counted
{%- endmacro %}


{#- The affinity of user_entity_counts as shares: share_<phase> = n_tracks_<phase> / the user's
    tracks in that phase (user_features.n_tracks: tracks without the entity type count in the
    denominator). share_fit is NULL where the user has no fit track of the entity (as an absent
    row would be: sum/max skip it). -#}
{% macro user_affinity_shares(counts, entity_col) -%}
with counts as (
    select * from {{ counts }}
),

fit_users as (
    select user_id, n_tracks from {{ ref('user_features') }} where phase = 'fit'
),

serve_users as (
    select user_id, n_tracks from {{ ref('user_features') }} where phase = 'serve'
),

final as (
    select
        counts.user_id,
        counts.{{ entity_col }},
        counts.n_tracks_fit,
        case when counts.n_tracks_fit > 0
            then counts.n_tracks_fit / fit_users.n_tracks end as share_fit,
        counts.n_tracks_serve,
        counts.n_tracks_serve / serve_users.n_tracks as share_serve
    from counts
    inner join serve_users on serve_users.user_id = counts.user_id
    left join fit_users on fit_users.user_id = counts.user_id
)

select * from final
{%- endmacro %}


{#- Popularity of a genre or artist in both phases, in one pass: distinct users (the
    user_entity_counts rows with a track of the phase), listens (the sum of the phase's
    track_features.n_listens over the entity's tracks: the same sum as each phase's listen_count
    over its pairs, without another join of every pair) and pop_rank (1 = most users; ties by
    listens, then id). One row per (phase, entity) heard in the phase. -#}
{% macro entity_popularity(item_entities, counts, entity_col) -%}
with track_listens as (
    select phase, track_id, n_listens from {{ ref('track_features') }}
),

item_entities as (
    select track_id, {{ entity_col }} from {{ item_entities }}
),

counts as (
    select {{ entity_col }}, n_tracks_fit from {{ counts }}
),

users as (
    select
        {{ entity_col }},
        count(*) filter (where n_tracks_fit > 0) as n_users_fit,
        count(*) as n_users_serve
    from counts
    group by {{ entity_col }}
),

listens as (
    select
        item_entities.{{ entity_col }},
        cast(coalesce(sum(track_listens.n_listens) filter (where track_listens.phase = 'fit'), 0)
            as bigint) as n_listens_fit,
        cast(coalesce(sum(track_listens.n_listens) filter (where track_listens.phase = 'serve'), 0)
            as bigint) as n_listens_serve
    from track_listens
    inner join item_entities on item_entities.track_id = track_listens.track_id
    group by item_entities.{{ entity_col }}
),

final as (
    {%- for phase in ['fit', 'serve'] %}
    select
        '{{ phase }}' as phase,
        users.{{ entity_col }},
        users.n_users_{{ phase }} as n_users,
        listens.n_listens_{{ phase }} as n_listens,
        cast(row_number() over (
            order by users.n_users_{{ phase }} desc, listens.n_listens_{{ phase }} desc, users.{{ entity_col }}
        ) as integer) as pop_rank
    from users
    inner join listens on listens.{{ entity_col }} = users.{{ entity_col }}
    where users.n_users_{{ phase }} > 0
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
)

select * from final
{%- endmacro %}
