{#-
  The warehouse's error log: one row per dbt node per run in <schema>.dbt_run_audit,
  written by the on-run-end hook (dbt_project.yml). Failures are one query away:
    select * from dbt_run_audit where status in ('error', 'fail') order by run_started_at desc;
  Messages have every quoted part blanked, as a database error may quote a value (PHI).
-#}
{% macro record_run_results(results) %}
    {%- if not execute or results | length == 0 -%}{{ return('') }}{%- endif -%}
    {%- set audit = api.Relation.create(database=target.database, schema=target.schema, identifier='dbt_run_audit') -%}
    {%- if adapter.get_relation(audit.database, audit.schema, audit.identifier) is none -%}
        {% do run_query(
            "create table " ~ audit ~ " ("
            ~ "invocation_id varchar(64), run_started_at " ~ dbt.type_timestamp() ~ ", command varchar(20),"
            ~ " node_id varchar(300), resource_type varchar(20), status varchar(20),"
            ~ " execution_seconds " ~ dbt.type_float() ~ ", rows_affected " ~ dbt.type_bigint() ~ ", message varchar(1000))"
        ) %}
    {%- endif -%}
    {%- set rows = [] -%}
    {%- for result in results -%}
        {%- set message = modules.re.sub("'[^']*'|\"[^\"]*\"", "'...'", (result.message or '') | string)[:1000] -%}
        {%- set affected = (result.adapter_response or {}).get('rows_affected') -%}
        {%- do rows.append(
            "('" ~ invocation_id ~ "', cast('" ~ run_started_at.strftime('%Y-%m-%d %H:%M:%S') ~ "' as " ~ dbt.type_timestamp() ~ "), '"
            ~ flags.WHICH ~ "', '" ~ result.node.unique_id ~ "', '" ~ result.node.resource_type ~ "', '"
            ~ result.status ~ "', " ~ (result.execution_time | round(3)) ~ ", "
            ~ (affected if affected is number else 'null') ~ ", '" ~ message | replace("'", "''") ~ "')"
        ) -%}
    {%- endfor -%}
    {%- for chunk in rows | batch(200) %}
        insert into {{ audit }} (invocation_id, run_started_at, command, node_id, resource_type, status,
            execution_seconds, rows_affected, message)
        values {{ chunk | join(', ') }};
    {%- endfor %}
{% endmacro %}
