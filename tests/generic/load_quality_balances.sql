{#- LoadQuality's totals: rows read = landed + rejected for every day and entity. -#}
{% test load_quality_balances(model) %}

select *
from {{ model }}
where RuleCode = '(all)' and RowsRead <> RowsLanded + RowsRejected

{% endtest %}
