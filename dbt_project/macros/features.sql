{#-
  Features of the two phases, each computed from that phase's events only: 'fit' from
  events_fit's pairs with the reference date label_start, 'serve' from events_train's with
  split_date. Both phases come from one pass over int_events_aggregated (whose fit_/train_
  columns are the two windows) and the same expressions per phase (feature_phases), so a
  model's features are scaled identically when it trains and when it serves. (One pass alone
  saved little at full scale: the aggregates over ~175M pairs are the cost, not the scans;
  see track_features for what did.)
-#}

{#- The phases: name, column prefix in int_events_aggregated, and the split_info column that
    is "today" for the phase. -#}
{% macro feature_phases() -%}
{{ return([('fit', 'fit_', 'label_start'), ('serve', 'train_', 'split_date')]) }}
{%- endmacro %}


{#- The train pairs (every fit pair is one) with both phases' count and last-date columns:
    what the per-phase feature passes read, keyed by `key` (track_id or user_id). -#}
{% macro train_pairs(key) -%}
select {{ key }}, first_listen, fit_listen_count, fit_last_listen, train_listen_count,
    train_last_listen
from {{ ref('int_events_aggregated') }}
where train_listen_count > 0
{%- endmacro %}


{#- Track popularity and trend of both phases in one pass over the pairs. Every phase's
    columns come from the same expressions over its own count and last-date columns
    (`prefix`), so both phases are scaled identically. A pair has a listen in the phase exactly
    when its <prefix>last_listen is not NULL, which the aggregates use instead of a FILTER each
    (NULLs are skipped): at full scale the 12 aggregates over ~175M pairs are the cost, and
    grouping by track_id alone with the reference dates as scalar subqueries is ~25% cheaper
    than FILTERs and a cross join. A track has a row in a phase only if heard in it. -#}
{% macro track_features() -%}
with pairs as (
    {{ train_pairs('track_id') }}
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
    keep only as first/last). Same expressions per phase, as in track_features (a pair is in
    the phase exactly when its <prefix>last_listen is not NULL). -#}
{% macro user_features() -%}
with pairs as (
    {{ train_pairs('user_id') }}
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


{#- Per (user, entity) the user heard in train, both phases as columns: how many of the
    user's tracks carry the entity (n_tracks_fit / n_tracks_serve) and their share of the
    user's tracks in that phase (share_fit / share_serve = n_tracks_<phase> /
    user_features.n_tracks of the phase; tracks without the entity type count in the
    denominator). A (user, track) pair is in events_fit exactly when it is in events_train
    with first_listen <= label_start, and affinity counts pairs, so one pass over events_train
    gives both phases (the numbers of events_fit). share_fit is NULL where the user has no fit
    track of the entity (as an absent row would be: sum/max skip it).
    Used as a view: stored, it was a 148M-row table at full scale (~60 s to build, ~30 s to
    test its key); queried with a filter on user_id (the ranker asks for one chunk of users
    at a time), DuckDB pushes the filter through the join and the GROUP BY into the scan of
    int_events_aggregated, which is stored ordered by user and so prunes to those users. -#}
{% macro user_affinity(item_entities, entity_col) -%}
with events as (
    select user_id, track_id, first_listen from {{ ref('events_train') }}
),

split as (
    select label_start from {{ ref('split_info') }}
),

item_entities as (
    select track_id, {{ entity_col }} from {{ item_entities }}
),

fit_users as (
    select user_id, n_tracks from {{ ref('user_features') }} where phase = 'fit'
),

serve_users as (
    select user_id, n_tracks from {{ ref('user_features') }} where phase = 'serve'
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
),

final as (
    select
        counted.user_id,
        counted.{{ entity_col }},
        counted.n_tracks_fit,
        case when counted.n_tracks_fit > 0
            then counted.n_tracks_fit / fit_users.n_tracks end as share_fit,
        counted.n_tracks_serve,
        counted.n_tracks_serve / serve_users.n_tracks as share_serve
    from counted
    inner join serve_users on serve_users.user_id = counted.user_id
    left join fit_users on fit_users.user_id = counted.user_id
)

select * from final
{%- endmacro %}


{#- Popularity of a genre or artist in both phases: distinct users (of the phase's pairs),
    listens (the sum of the phase's track_features.n_listens over the entity's tracks: the
    same sum as each phase's listen_count over its pairs, without another join of every pair)
    and pop_rank (1 = most users; ties by listens, then id). One row per (phase, entity)
    heard in the phase.
    Distinct users are counted from one list per user (the pairs are stored ordered by user,
    so this grouping is local) of 4-byte codes: 2 x the entity's dense rank, + 1 when the pair
    is not in events_fit (first listen after label_start). Per user, the even codes' distinct
    values are the fit entities and the codes rounded down to even the serve ones. At full
    scale, alone, artists took 51 s and 3.8 GB this way against 63 s and 8.7 GB for two lists
    of 8-byte ids (one filtered to fit) and 57-60 s for a GROUP BY of the 148M (user, artist)
    pairs; in the build 55 s instead of 69-89 s. (The dense rank is a window over the entity
    table, not a join: a join of it made DuckDB misjudge the cardinality and hash the 174M
    pairs instead.) -#}
{% macro entity_popularity(item_entities, entity_col) -%}
with events as (
    select user_id, track_id, first_listen from {{ ref('events_train') }}
),

split as (
    select label_start from {{ ref('split_info') }}
),

item_entities as (
    select track_id, {{ entity_col }} from {{ item_entities }}
),

track_listens as (
    select phase, track_id, n_listens from {{ ref('track_features') }}
),

entity_codes as (
    select
        track_id,
        {{ entity_col }},
        cast(dense_rank() over (order by {{ entity_col }}) as integer) * 2 as entity_code
    from item_entities
),

user_codes as (
    select
        events.user_id,
        list(entity_codes.entity_code + cast(events.first_listen > split.label_start as integer))
            as pair_codes
    from events
    cross join split
    inner join entity_codes on entity_codes.track_id = events.track_id
    group by events.user_id
),

user_entity_rows as (
    select 'fit' as phase, unnest(list_distinct(list_filter(pair_codes, code -> code % 2 = 0)))
        as entity_code
    from user_codes
    union all
    select 'serve' as phase, unnest(list_distinct(list_transform(pair_codes, code -> code - code % 2)))
        as entity_code
    from user_codes
),

code_users as (
    select
        entity_code,
        count(*) filter (where phase = 'fit') as n_users_fit,
        count(*) filter (where phase = 'serve') as n_users_serve
    from user_entity_rows
    group by entity_code
),

entity_ids as (
    select distinct entity_code, {{ entity_col }} from entity_codes
),

users as (
    select entity_ids.{{ entity_col }}, code_users.n_users_fit, code_users.n_users_serve
    from code_users
    inner join entity_ids on entity_ids.entity_code = code_users.entity_code
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
