{#-
  Features for one phase, computed from that phase's events only: 'fit' reads events_fit with
  the reference date label_start, 'serve' reads events_train with split_date. Each feature mart
  calls its macro twice (once per phase), so both phases are computed by the same SQL and a
  model's features are scaled identically when it trains and when it serves.
  `cutoff` is the split_info column that is "today" for the phase. (Affinities and
  genre/artist popularity compute both phases in one pass over the pairs instead, see
  user_affinity and entity_popularity: at full scale each pass is a join of ~175M rows.)
-#}

{% macro track_features_for(phase, events, cutoff) -%}
select * from (
    with events as (
        select * from {{ events }}
    ),

    cutoff as (
        select {{ cutoff }} as ref_date from {{ ref('split_info') }}
    ),

    track_groups as (
        select track_id, track_group_id from {{ ref('items') }}
    ),

    per_track as (
        select
            events.track_id,
            cast(sum(events.listen_count) as bigint) as n_listens,
            count(*) as n_users,
            sum(events.listen_count * exp(
                -ln(2) * (cutoff.ref_date - events.last_listen) / {{ var('recency_half_life_days') }}
            )) as pop_recency,
            count(*) filter (where events.last_listen > cutoff.ref_date - 7) as n_users_last_7d,
            count(*) filter (
                where events.last_listen > cutoff.ref_date - 14
                and events.last_listen <= cutoff.ref_date - 7
            ) as n_users_prev_7d,
            cast(cutoff.ref_date - min(events.first_listen) as integer) as days_since_first
        from events
        cross join cutoff
        group by events.track_id, cutoff.ref_date
    ),

    grouped as (
        select per_track.*, track_groups.track_group_id
        from per_track
        inner join track_groups on track_groups.track_id = per_track.track_id
    ),

    final as (
        select
            '{{ phase }}' as phase,
            track_id,
            n_listens,
            n_users,
            pop_recency,
            n_users_last_7d,
            n_users_prev_7d,
            ln((n_users_last_7d + 1.0) / (n_users_prev_7d + 1.0)) as trend,
            days_since_first,
            count(*) over (partition by track_group_id) as group_size
        from grouped
    )

    select * from final
)
{%- endmacro %}


{% macro user_features_for(phase, events, user_days, cutoff) -%}
select * from (
    with events as (
        select * from {{ events }}
    ),

    user_days as (
        select user_id, listen_date from {{ user_days }}
    ),

    cutoff as (
        select {{ cutoff }} as ref_date from {{ ref('split_info') }}
    ),

    per_user as (
        select
            user_id,
            count(*) as n_tracks,
            min(first_listen) as first_listen,
            max(last_listen) as last_listen
        from events
        group by user_id
    ),

    active_days as (
        select user_days.user_id, count(*) as n_active_days
        from user_days
        cross join cutoff
        where user_days.listen_date <= cutoff.ref_date
        group by user_days.user_id
    ),

    final as (
        select
            '{{ phase }}' as phase,
            per_user.user_id,
            per_user.n_tracks,
            active_days.n_active_days,
            per_user.first_listen,
            per_user.last_listen,
            cast(cutoff.ref_date - per_user.last_listen as integer) as days_since_last
        from per_user
        inner join active_days on active_days.user_id = per_user.user_id
        cross join cutoff
    )

    select * from final
)
{%- endmacro %}


{#- Per (user, entity), for both phases as columns: how many of the user's tracks carry the
    entity (n_tracks_fit / n_tracks_serve) and their share of the user's tracks in that phase
    (share_fit / share_serve; tracks without the entity type count in the denominator).
    Both phases in one pass and one row, because at full scale this is the heaviest model:
    a (user, track) pair is in events_fit exactly when it is in events_train with
    first_listen <= label_start, so every fit pair is a serve pair and one row per serve pair
    holds both (148M rows for artists instead of 285M as one row per phase). Affinity counts
    pairs, not listens, so the fit counts are the train counts restricted to those pairs: the
    same numbers as reading events_fit. share_fit is NULL where the user has no fit track of
    the entity (as an absent row would be: sum/max skip it). -#}
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

flagged as (
    select events.user_id, events.track_id, events.first_listen <= split.label_start as in_fit
    from events
    cross join split
),

user_totals as (
    select
        user_id,
        count(*) filter (where in_fit) as n_fit,
        count(*) as n_serve
    from flagged
    group by user_id
),

user_entities as (
    select
        flagged.user_id,
        item_entities.{{ entity_col }},
        count(*) filter (where flagged.in_fit) as n_fit,
        count(*) as n_serve
    from flagged
    inner join item_entities on item_entities.track_id = flagged.track_id
    group by flagged.user_id, item_entities.{{ entity_col }}
),

final as (
    select
        user_entities.user_id,
        user_entities.{{ entity_col }},
        cast(user_entities.n_fit as integer) as n_tracks_fit,
        case when user_entities.n_fit > 0
            then user_entities.n_fit / user_totals.n_fit end as share_fit,
        cast(user_entities.n_serve as integer) as n_tracks_serve,
        user_entities.n_serve / user_totals.n_serve as share_serve
    from user_entities
    inner join user_totals on user_totals.user_id = user_entities.user_id
)

select * from final
{%- endmacro %}


{#- Popularity of a genre or artist in both phases, in one pass: distinct users (the affinity
    rows with a track of the phase), listens (each phase's own listen counts of its pairs,
    i.e. events_fit's and events_train's listen_count, read as int_events_aggregated's
    fit_/train_listen_count columns) and pop_rank (1 = most users; ties by listens, then id).
    One row per (phase, entity) heard in the phase. -#}
{% macro entity_popularity(item_entities, affinity, entity_col) -%}
with events as (
    select track_id, fit_listen_count, train_listen_count
    from {{ ref('int_events_aggregated') }}
    where train_listen_count > 0
),

item_entities as (
    select track_id, {{ entity_col }} from {{ item_entities }}
),

affinity as (
    select {{ entity_col }}, n_tracks_fit from {{ affinity }}
),

users as (
    select
        {{ entity_col }},
        count(*) filter (where n_tracks_fit > 0) as n_users_fit,
        count(*) as n_users_serve
    from affinity
    group by {{ entity_col }}
),

listens as (
    select
        item_entities.{{ entity_col }},
        cast(sum(events.fit_listen_count) as bigint) as n_listens_fit,
        cast(sum(events.train_listen_count) as bigint) as n_listens_serve
    from events
    inner join item_entities on item_entities.track_id = events.track_id
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
