{#-
  dbt's is_incremental(), plus an offline mode for compiling without a
  connection (SQL Server and Redshift cannot run here):
    dbt compile --no-populate-cache --vars '{offline: true, offline_incremental: true}'
  Outside that mode it is dbt's own macro, unchanged.
-#}
{% macro is_incremental() %}
    {%- if var('offline', false) -%}
        {{ return(var('offline_incremental', false) and model.config.materialized == 'incremental') }}
    {%- endif -%}
    {{ return(dbt.is_incremental()) }}
{% endmacro %}
