{#- A whole-number part (year, quarter, month, day) of a date. -#}
{% macro date_part_int(part, expr) %}
    {{ return(adapter.dispatch('date_part_int', 'carestar')(part, expr)) }}
{% endmacro %}

{% macro default__date_part_int(part, expr) %}cast(extract({{ part }} from {{ expr }}) as integer){% endmacro %}

{% macro sqlserver__date_part_int(part, expr) %}datepart({{ part }}, {{ expr }}){% endmacro %}


{#- DimDate's key: yyyymmdd as an integer. -#}
{% macro date_id(expr) %}
    ({{ date_part_int('year', expr) }} * 10000 + {{ date_part_int('month', expr) }} * 100 + {{ date_part_int('day', expr) }})
{% endmacro %}


{#- English day name, Monday..Sunday. -#}
{% macro day_name(expr) %}
    {{ return(adapter.dispatch('day_name', 'carestar')(expr)) }}
{% endmacro %}

{% macro default__day_name(expr) %}trim(to_char({{ expr }}, 'Day')){% endmacro %}

{% macro duckdb__day_name(expr) %}dayname({{ expr }}){% endmacro %}

{% macro sqlserver__day_name(expr) %}datename(weekday, {{ expr }}){% endmacro %}
