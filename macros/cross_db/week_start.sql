{#- The Monday that starts the week of a date (ISO weeks), as a date. -#}
{% macro week_start(expr) %}
    {{ return(adapter.dispatch('week_start', 'carestar')(expr)) }}
{% endmacro %}

{% macro default__week_start(expr) %}cast(date_trunc('week', {{ expr }}) as date){% endmacro %}

{#- Independent of the session's DATEFIRST setting. -#}
{% macro sqlserver__week_start(expr) %}
    cast(dateadd(day, -((datepart(weekday, {{ expr }}) + @@datefirst - 2) % 7), {{ expr }}) as date)
{% endmacro %}
