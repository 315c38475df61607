{#- One row per (user, track) of the listens in `relation`: the shape of every events table.
    Used by events, events_train/test/fit/labels so all five count the same way. -#}
{% macro aggregate_listens(relation) -%}
select
    user_id,
    track_id,
    cast(count(*) as integer) as listen_count,
    min(listen_date) as first_listen,
    max(listen_date) as last_listen
from {{ relation }}
group by user_id, track_id
{%- endmacro %}
