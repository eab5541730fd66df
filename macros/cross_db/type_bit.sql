{#- The warehouse contract's BIT: a boolean everywhere but SQL Server. -#}
{% macro type_bit() %}
    {{ return(adapter.dispatch('type_bit', 'carestar')()) }}
{% endmacro %}

{% macro default__type_bit() %}boolean{% endmacro %}

{% macro sqlserver__type_bit() %}bit{% endmacro %}


{#- A BIT literal from a boolean condition (T-SQL has no boolean expressions in a select list). -#}
{% macro bit_from(condition) %}
    case when {{ condition }} then {{ bit_true() }} else {{ bit_false() }} end
{% endmacro %}

{% macro bit_true() %}
    {{ return(adapter.dispatch('bit_true', 'carestar')()) }}
{% endmacro %}

{% macro default__bit_true() %}true{% endmacro %}

{% macro sqlserver__bit_true() %}cast(1 as bit){% endmacro %}

{% macro bit_false() %}
    {{ return(adapter.dispatch('bit_false', 'carestar')()) }}
{% endmacro %}

{% macro default__bit_false() %}false{% endmacro %}

{% macro sqlserver__bit_false() %}cast(0 as bit){% endmacro %}
