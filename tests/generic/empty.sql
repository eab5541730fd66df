{#- Every value is empty (null): a column that only carries a value while a build runs. -#}
{% test empty(model, column_name) %}

select {{ column_name }}
from {{ model }}
where {{ column_name }} is not null

{% endtest %}
