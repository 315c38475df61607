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
