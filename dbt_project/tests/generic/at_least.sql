{#- Every non-null value of the column is >= `value` (counts start at 1, shares at 0 ...). -#}
{% test at_least(model, column_name, value) %}
select {{ column_name }}
from {{ model }}
where {{ column_name }} < {{ value }}
{% endtest %}
