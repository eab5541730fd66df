{#-
  An index serving ProviderMissedAppointments: missed appointments by date and
  provider. SQL Server: a filtered nonclustered index; PostgreSQL: a partial
  index; elsewhere nothing (DuckDB scans, Redshift uses sort keys).
-#}
{% macro missed_appointments_index(relation) %}
    {{ return(adapter.dispatch('missed_appointments_index', 'carestar')(relation)) }}
{% endmacro %}

{% macro default__missed_appointments_index(relation) %}{% endmacro %}

{% macro redshift__missed_appointments_index(relation) %}{% endmacro %}

{% macro postgres__missed_appointments_index(relation) %}
    {{ postgres_index_once(relation, ['appointment_date', 'provider_id'], where="appointment_status = 'missed'") }}
{% endmacro %}

{#- the model is incremental: the index is made once, when the table is new -#}
{% macro sqlserver__missed_appointments_index(relation) %}
    if not exists (
        select 1 from sys.indexes
        where
            object_id = object_id('{{ relation.include(database=false) }}')
            and name = '{{ relation.identifier }}__missed_idx'
    )
        create nonclustered index {{ relation.identifier }}__missed_idx
        on {{ relation }} (appointment_date, provider_id)
        where appointment_status = 'missed'
{% endmacro %}
