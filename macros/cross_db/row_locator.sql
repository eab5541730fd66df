{#-
  Where a row lies in its table, as a number, read in a select from that table
  alone: DuckDB's rowid, which stays put while nothing writes the table. An
  incremental build of a deduplicated table reads the rows its write replaces
  anyway (macro latest_versions), so it carries their locators to the write,
  and the write deletes them by locator instead of searching the table for
  their keys again (strategy delete_located_then_insert, macro
  upsert_strategy). Elsewhere empty: MERGE finds rows by key itself.
-#}
{% macro row_locator() %}
    {{ return(adapter.dispatch('row_locator', 'carestar')()) }}
{% endmacro %}

{% macro default__row_locator() %}cast(null as {{ dbt.type_bigint() }}){% endmacro %}

{#- a unit test's `this` is a fixture, with no rowid -#}
{% macro duckdb__row_locator() %}
    {%- if this_is_readable() -%}rowid{%- else -%}{{ default__row_locator() }}{%- endif -%}
{% endmacro %}
