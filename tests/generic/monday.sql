{#- Every value is a Monday. -#}
{% test monday(model, column_name) %}

select {{ column_name }}
from {{ model }}
where {{ week_start(column_name) }} <> {{ column_name }}

{% endtest %}
