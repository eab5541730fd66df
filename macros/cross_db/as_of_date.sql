{#- The report date: var as_of_date (YYYY-MM-DD), or today when it is empty. -#}
{% macro as_of_date() %}
    {%- set value = var('as_of_date', '') -%}
    {%- if value -%}
        cast('{{ value }}' as date)
    {%- else -%}
        cast({{ dbt.current_timestamp() }} as date)
    {%- endif -%}
{% endmacro %}
