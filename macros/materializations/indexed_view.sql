{#-
  SQL Server indexed view: a view WITH SCHEMABINDING and a unique clustered
  index on the columns of var `unique_key` (a list), so SQL Server keeps the
  aggregate up to date as the fact changes. The model's SQL must follow the
  indexed-view rules: one SELECT, two-part names, inner joins, COUNT_BIG(*),
  SUM over non-nullable expressions.
-#}
{% macro indexed_view_ddl(relation, sql, unique_key) %}
    {%- set name = relation.include(database=false) -%}
    {{ return([
        "drop view if exists " ~ name,
        "create view " ~ name ~ " with schemabinding as " ~ sql,
        "create unique clustered index ucx_" ~ relation.identifier ~ " on " ~ name ~ " (" ~ unique_key | join(", ") ~ ")",
    ]) }}
{% endmacro %}

{% materialization indexed_view, adapter='sqlserver' %}
    {%- set target_relation = this.incorporate(type='view') -%}
    {%- set existing = load_cached_relation(this) -%}
    {{ run_hooks(pre_hooks) }}
    {%- if existing is not none and existing.type != 'view' -%}
        {% do adapter.drop_relation(existing) %}
    {%- endif -%}
    {%- set statements = indexed_view_ddl(target_relation, sql, config.get('unique_key')) -%}
    {%- for statement in statements[:-1] %}
        {% call statement('ddl_' ~ loop.index) %}{{ statement }}{% endcall %}
    {%- endfor %}
    {% call statement('main') %}{{ statements[-1] }}{% endcall %}
    {{ run_hooks(post_hooks) }}
    {{ return({'relations': [target_relation]}) }}
{% endmaterialization %}
