{#- The events table of one window, projected from int_events_aggregated: the same five
    columns for events, events_train and events_fit. `prefix` names the window's count and
    last-date columns ('' = all listens, 'train_', 'fit_'); pairs without a listen in the
    window are left out. -#}
{% macro events_window(prefix) -%}
select
    user_id,
    track_id,
    {{ prefix }}listen_count as listen_count,
    first_listen,
    {{ prefix }}last_listen as last_listen
from {{ ref('int_events_aggregated') }}
{%- if prefix %}
where {{ prefix }}listen_count > 0
{%- endif %}
{%- endmacro %}
