{#-
  Physical design of FactPatientEncounters, per target (warehouse.md), as a
  post-hook so the model itself stays target-free.

  - DuckDB: rows are written in DateID order (macro storage_order); nothing here.
  - PostgreSQL: b-tree indexes on DateID (the date filter) and each dimension key (joins).
  - Redshift: distribution and sort keys come from configs in dbt_project.yml
    (dist PatientID, sort DateID); no indexes exist there.
  - SQL Server: a RANGE RIGHT partition function and scheme on DateID with
    yearly boundaries, and the clustered columnstore index built on that scheme.
-#}
{% macro fact_physical_design(relation) %}
    {{ return(adapter.dispatch('fact_physical_design', 'carestar')(relation)) }}
{% endmacro %}

{% macro default__fact_physical_design(relation) %}{% endmacro %}

{% macro redshift__fact_physical_design(relation) %}{% endmacro %}

{% macro postgres__fact_physical_design(relation) %}
    {%- for column in ['DateID', 'PatientID', 'ProviderID', 'HospitalID', 'DiagnosisID'] %}
    {{ postgres_index_once(relation, [column]) }}
    {%- endfor %}
{% endmacro %}

{#-
  A PostgreSQL index on `columns` unless the table has one already. Unnamed on
  purpose: while dbt swaps a rebuilt table in, the old one (renamed to a
  backup) still holds its index names until it is dropped, so a fixed name
  with IF NOT EXISTS would silently skip and the index would go with the backup.
-#}
{% macro postgres_index_once(relation, columns, where=none) %}
    {%- set key = '(' ~ (columns | join(', ') | lower) ~ ')' -%}
    do $carestar$ begin
        if not exists (
            select 1 from pg_indexes
            where schemaname = '{{ relation.schema }}' and tablename = '{{ relation.identifier }}'
                and indexdef like '%{{ key }}%'{% if where %} and indexdef like '%WHERE%'{% endif %}
        ) then
            create index on {{ relation }} ({{ columns | join(', ') }}){% if where %} where {{ where }}{% endif %};
        end if;
    end $carestar$;
{% endmacro %}

{#- Yearly DateID boundaries covering vars dim_date_start .. dim_date_end (a year past each end). -#}
{% macro date_id_year_boundaries() %}
    {%- set first = var('dim_date_start')[:4] | int -%}
    {%- set last = var('dim_date_end')[:4] | int -%}
    {%- set boundaries = [] -%}
    {%- for year in range(first, last + 2) -%}
        {%- do boundaries.append(year * 10000 + 101) -%}
    {%- endfor -%}
    {{ return(boundaries) }}
{% endmacro %}

{% macro sqlserver__fact_physical_design(relation) %}
    {%- set boundaries = date_id_year_boundaries() -%}
    if not exists (select 1 from sys.partition_functions where name = 'pf_carestar_date_id')
        create partition function pf_carestar_date_id (int)
        as range right for values ({{ boundaries | join(', ') }});
    if not exists (select 1 from sys.partition_schemes where name = 'ps_carestar_date_id')
        create partition scheme ps_carestar_date_id
        as partition pf_carestar_date_id all to ([primary]);
    if not exists (
        select 1 from sys.indexes
        where object_id = object_id('{{ relation.include(database=false) }}') and type = 5
    )
        create clustered columnstore index cci_{{ relation.identifier }}
        on {{ relation.include(database=false) }}
        on ps_carestar_date_id (DateID);
{% endmacro %}


{#-
  How the region/year aggregate (EncountersByRegion) is kept, per target:
  DuckDB a table; PostgreSQL and Redshift a materialized view (refreshed by
  each build); SQL Server an indexed view (materialization indexed_view).
-#}
{% macro aggregate_materialization() %}
    {{ return(adapter.dispatch('aggregate_materialization', 'carestar')()) }}
{% endmacro %}

{% macro default__aggregate_materialization() %}{{ return('table') }}{% endmacro %}

{% macro postgres__aggregate_materialization() %}{{ return('materialized_view') }}{% endmacro %}

{% macro sqlserver__aggregate_materialization() %}{{ return('indexed_view') }}{% endmacro %}


{#- COUNT_BIG(*) where an indexed view needs it, count(*) elsewhere. -#}
{% macro count_rows() %}
    {{ return(adapter.dispatch('count_rows', 'carestar')()) }}
{% endmacro %}

{% macro default__count_rows() %}count(*){% endmacro %}

{% macro sqlserver__count_rows() %}count_big(*){% endmacro %}


{#- An expression with NULL as 0 that SQL Server also treats as non-nullable (ISNULL, not COALESCE). -#}
{% macro zero_if_null(expr) %}
    {{ return(adapter.dispatch('zero_if_null', 'carestar')(expr)) }}
{% endmacro %}

{% macro default__zero_if_null(expr) %}coalesce({{ expr }}, 0){% endmacro %}

{% macro sqlserver__zero_if_null(expr) %}isnull({{ expr }}, 0){% endmacro %}


{#-
  Statements a run on this target sends, rendered by
  analyses/physical_design_ddl.sql so the offline checks parse them in the
  target's dialect: the physical design from carestar's macros, the MERGE
  an incremental build of the fact sends (dbt's own macro), and the delete and
  insert of int_billing_exceptions' strategy replace_scopes.
-#}
{% macro physical_design_ddl() %}
    {{ return(adapter.dispatch('physical_design_ddl', 'carestar')()) }}
{% endmacro %}

{#-
  The CREATE TABLE a build sends for a contract-enforced mart (dbt creates the
  table from the contract, then inserts the model's rows): the contract's
  columns and not-null constraints, and on Redshift the distribution and sort
  clauses rendered by dbt-redshift's own dist() and sort() from the model's config.
-#}
{% macro contract_table_ddl(model_name) %}
    {%- if not execute -%}{{ return('') }}{%- endif -%}
    {%- set node = graph.nodes['model.carestar.' ~ model_name] -%}
    {%- set columns = [] -%}
    {%- for column in node.columns.values() -%}
        {%- set not_null = column.constraints | selectattr('type', 'equalto', 'not_null') | list -%}
        {%- do columns.append(column.name ~ ' ' ~ column.data_type ~ (' not null' if not_null else '')) -%}
    {%- endfor -%}
    {{ return('create table ' ~ ref(model_name).include(database=false) ~ ' (' ~ (columns | join(', ')) ~ ')'
        ~ table_distribution(node.config)) }}
{% endmacro %}

{% macro table_distribution(model_config) %}
    {{ return(adapter.dispatch('table_distribution', 'carestar')(model_config)) }}
{% endmacro %}

{% macro default__table_distribution(model_config) %}{{ return('') }}{% endmacro %}

{% macro redshift__table_distribution(model_config) %}
    {{ return(' ' ~ dist(model_config.get('dist')) ~ ' ' ~ sort(model_config.get('sort_type'), model_config.get('sort'))) }}
{% endmacro %}

{#- The aggregate as dbt-redshift creates a materialized view (its create.sql), over a sample body. -#}
{% macro redshift_materialized_view_ddl(relation, body) %}
    {{ return('create materialized view ' ~ relation.include(database=false)
        ~ ' backup yes diststyle even auto refresh no as (' ~ body ~ ')') }}
{% endmacro %}

{% macro fact_merge_sample(merge_macro) %}
    {%- set fact = ref('fct_patient_encounters') -%}
    {%- set staged = api.Relation.create(database=fact.database, schema=fact.schema, identifier=fact.identifier ~ '__dbt_tmp') -%}
    {%- set columns = [] -%}
    {%- for name, type in [('EncounterID', 'bigint'), ('PatientID', 'integer'), ('ProviderID', 'integer'),
        ('HospitalID', 'integer'), ('DiagnosisID', 'integer'), ('DateID', 'integer'),
        ('BillingAmount', 'decimal(10, 2)'), ('EncounterDuration', 'integer'),
        ('SourceEncounterID', 'varchar(64)'), ('LoadID', 'bigint')] -%}
        {%- do columns.append(api.Column.create(name, type)) -%}
    {%- endfor -%}
    {{ return(merge_macro(fact, staged, 'EncounterID', columns)) }}
{% endmacro %}

{% macro replace_scopes_sample() %}
    {%- set judged = ref('int_billing_exceptions') -%}
    {%- set staged = api.Relation.create(database=judged.database, schema=judged.schema, identifier=judged.identifier ~ '__dbt_tmp') -%}
    {%- set columns = [] -%}
    {%- for name, type in [('scope_key', 'varchar(80)'), ('row_kind', 'varchar(10)'), ('rule_code', 'varchar(4)'),
        ('record_id', 'varchar(64)'), ('amount', 'decimal(10, 2)')] -%}
        {%- do columns.append(api.Column.create(name, type)) -%}
    {%- endfor -%}
    {{ return(get_incremental_replace_scopes_sql({
        'target_relation': judged, 'temp_relation': staged, 'unique_key': 'scope_key', 'dest_columns': columns,
    })) }}
{% endmacro %}

{% macro default__physical_design_ddl() %}
    {%- set fact = ref('fct_patient_encounters') -%}
    {%- set appointments = ref('int_appointments_deduplicated') -%}
    {{ return([
        contract_table_ddl('fct_patient_encounters'),
        contract_table_ddl('dim_patient'),
        fact_physical_design(fact),
        missed_appointments_index(appointments),
        fact_merge_sample(default__get_merge_sql),
        replace_scopes_sample(),
    ]) }}
{% endmacro %}

{% macro redshift__physical_design_ddl() %}
    {%- set body = "select Region, count(*) as EncounterCount from factpatientencounters group by Region" -%}
    {{ return([
        contract_table_ddl('fct_patient_encounters'),
        contract_table_ddl('dim_patient'),
        contract_table_ddl('dim_date'),
        contract_table_ddl('dim_hospital'),
        fact_merge_sample(default__get_merge_sql),
        replace_scopes_sample(),
        redshift_materialized_view_ddl(ref('encounters_by_region'), body),
    ]) }}
{% endmacro %}

{#-
  dbt-postgres and dbt-redshift send dbt's default MERGE; dbt-sqlserver adds an OPTION (LABEL)
  clause to it. SQL Server: the default statements (its own post-hooks are dispatched inside
  them) plus the indexed view.
-#}
{% macro sqlserver__physical_design_ddl() %}
    {%- set aggregate = ref('encounters_by_region') -%}
    {%- set body = "select Region, count_big(*) as EncounterCount from dbo.FactPatientEncounters group by Region" -%}
    {{ return(default__physical_design_ddl() + indexed_view_ddl(aggregate, body, ['Region'])) }}
{% endmacro %}
