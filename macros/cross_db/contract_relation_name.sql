{#-
  The relation name of a warehouse contract relation. Queries name them
  unquoted (FactPatientEncounters), which PostgreSQL and Redshift fold to
  lower case: there the relation is created in lower case so dbt's own
  catalog lookups find it too. DuckDB and SQL Server keep the contract's case.
-#}
{% macro contract_relation_name(name) %}
    {{ return(adapter.dispatch('contract_relation_name', 'carestar')(name)) }}
{% endmacro %}

{% macro default__contract_relation_name(name) %}{{ return(name) }}{% endmacro %}

{% macro postgres__contract_relation_name(name) %}{{ return(name | lower) }}{% endmacro %}
