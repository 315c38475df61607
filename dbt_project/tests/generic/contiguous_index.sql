{#- An index column holds exactly 0..n-1 (no gap, no duplicate): ALS matrices rely on it. -#}
{% test contiguous_index(model, column_name) %}
select count(*) as n_rows, count(distinct {{ column_name }}) as n_distinct,
       min({{ column_name }}) as min_idx, max({{ column_name }}) as max_idx
from {{ model }}
having count(*) > 0 and (
    count(distinct {{ column_name }}) <> count(*)
    or min({{ column_name }}) <> 0
    or max({{ column_name }}) <> count(*) - 1
)
{% endtest %}
