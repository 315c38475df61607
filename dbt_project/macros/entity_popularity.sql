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
