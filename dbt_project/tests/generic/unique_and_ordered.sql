{#- Fails on every stored row whose key (`columns`, compared left to right) is not strictly
    greater than the key of the row stored just before it, or is NULL. A table that passes is
    sorted by the key with no key twice: the uniqueness test of a table written with
    ORDER BY <key>, and a check of the clustering that point queries prune by.

    Why not unique_combination: that hashes every key (42 s for the 188M rows of
    int_events_aggregated at full scale); this compares neighbours in one sequential read
    (~13 s). Rows are paired with POSITIONAL JOIN, the second side starting one row later;
    each pair also checks that the two rowids are consecutive, so a scan that did not follow
    storage order fails the test instead of passing it. Tables only (a view has no rowid). -#}
{% test unique_and_ordered(model, columns) %}
with stored as (
    select rowid as row_pos, {{ columns | join(', ') }}
    from {{ model }}
),

following as (
    select rowid as row_pos, {{ columns | join(', ') }}
    from {{ model }}
    where rowid >= 1
),

neighbours as (
    select
        stored.row_pos,
        following.row_pos as next_pos,
        {%- for column in columns %}
        stored.{{ column }} as {{ column }},
        following.{{ column }} as next_{{ column }},
        {%- endfor %}
        coalesce(
            {%- for column in columns %}
            following.{{ column }} > stored.{{ column }}
            {%- if not loop.last %} or (following.{{ column }} = stored.{{ column }} and {% endif %}
            {%- endfor %}
            {%- for column in columns[1:] %}){% endfor %},
            false
        ) as increases
    from stored
    positional join following
)

select *
from neighbours
where next_pos is not null and (next_pos <> row_pos + 1 or not increases)
{% endtest %}
