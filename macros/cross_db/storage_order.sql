{#-
  Rows written in this order where the engine keeps insertion order (DuckDB:
  its zone maps then skip whole row groups on a DateID filter). Other targets
  order through their own physical design (sort keys, partitions, indexes).
-#}
{% macro storage_order(columns) %}
    {{ return(adapter.dispatch('storage_order', 'carestar')(columns)) }}
{% endmacro %}

{% macro default__storage_order(columns) %}{% endmacro %}

{% macro duckdb__storage_order(columns) %}order by {{ columns }}{% endmacro %}
