{#-
  Placed between `name as` and `(` of a CTE that several later CTEs read, to
  have the engine read the table again for each instead of copying it first.
  DuckDB otherwise materializes such a CTE: BillingExceptions spent 1.5 s of
  6 s at 10M encounters copying its two inputs. Elsewhere nothing: SQL Server
  and Redshift have no such hint, and PostgreSQL plans its own way.
-#}
{% macro inline_cte() %}
    {{ return(adapter.dispatch('inline_cte', 'carestar')()) }}
{% endmacro %}

{% macro default__inline_cte() %}{{ return('') }}{% endmacro %}

{% macro duckdb__inline_cte() %}{{ return('not materialized') }}{% endmacro %}
