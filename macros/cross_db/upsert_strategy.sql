{#-
  How every incremental model (the dimensions, FactPatientEncounters, the
  deduplicated intermediate tables) takes in its changed keys.

  - SQL Server, Redshift, PostgreSQL: MERGE on the unique key (matched rows
    updated, new rows inserted), deduplicated first so MERGE never sees a key twice.
  - DuckDB, where its MERGE was measured 22x slower for the fact (10.2 s vs
    0.45 s for 300k changed encounters among 10M), two statements in one
    transaction instead, with the same result row for row:
    - keep_layout=true (the fact the dashboards scan): `update ... from` for
      the keys already there, then `insert` of the new ones (strategy
      update_then_insert, below). An update is folded into the column data, so
      the fact stays in DateID order; delete+insert left every row group with
      deleted rows and slowed the acceptance query by a quarter.
      A model's merge_exclude_columns (dbt's config, which the MERGE of the
      other targets honours too) are left as they are in matched rows.
    - otherwise delete+insert: updating wide text rows in place costs DuckDB
      5-10x more (int_claims_deduplicated: 9 s vs 0.9 s). located=true (the
      deduplicated tables, whose select carries each replaced row's locator,
      macro row_locator): the rows are deleted by locator (strategy
      delete_located_then_insert, below), else by key (dbt-duckdb's
      delete+insert, which searches the whole table for the keys: 5.3 s of
      the claims' build at 100M encounters).
-#}
{% macro upsert_strategy(keep_layout=false, located=false) %}
    {{ return(adapter.dispatch('upsert_strategy', 'carestar')(keep_layout, located)) }}
{% endmacro %}

{% macro default__upsert_strategy(keep_layout, located) %}{{ return('merge') }}{% endmacro %}

{% macro duckdb__upsert_strategy(keep_layout, located) %}
    {%- if keep_layout -%}
        {{ return('update_then_insert') }}
    {%- endif -%}
    {{ return('delete_located_then_insert' if located else 'delete+insert') }}
{% endmacro %}

{#-
  dbt calls this for incremental_strategy='delete_located_then_insert' (a
  custom strategy, DuckDB only). The source's _replaced_row holds the locator
  of the row each key has here (empty for a new key), read by the same build
  from this table, which nothing has written since. A guard first checks each
  locator still finds its key (else the build stops, and nothing is written);
  then those rows are deleted and the source's rows inserted, locators left
  empty.
-#}
{% macro get_incremental_delete_located_then_insert_sql(arg_dict) %}
    {%- set target = arg_dict['target_relation'] -%}
    {%- set source = arg_dict['temp_relation'] -%}
    {%- set key = arg_dict['unique_key'] -%}
    {%- if key is not string -%}
        {{ exceptions.raise_compiler_error('delete_located_then_insert takes one key column, not ' ~ key) }}
    {%- endif -%}
    {%- set inserted = [] -%}
    {%- for column in arg_dict['dest_columns'] -%}
        {%- do inserted.append(
            'null' if column.name | lower == '_replaced_row' else 'source.' ~ column.quoted
        ) -%}
    {%- endfor -%}
select error('{{ target }}: a row locator no longer finds its key; build again')
from (
    -- joined on the locator alone: a join on the key too would read every key here again
    select
        count(*) as found,
        sum(case when target.{{ key }} <> source.{{ key }} then 1 else 0 end) as wrong
    from {{ target }} as target
    inner join {{ source }} as source
        on target.rowid = source._replaced_row
) as located
where
    located.found <> (select count(*) from {{ source }} where _replaced_row is not null)
    or located.wrong > 0;
delete from {{ target }}
where rowid in (select _replaced_row from {{ source }} where _replaced_row is not null);
insert into {{ target }} ({{ arg_dict['dest_columns'] | map(attribute='quoted') | join(', ') }})
select {{ inserted | join(', ') }}
from {{ source }} as source
{% endmacro %}

{#- dbt calls this for incremental_strategy='update_then_insert' (a custom strategy). -#}
{% macro get_incremental_update_then_insert_sql(arg_dict) %}
    {%- set target = arg_dict['target_relation'] -%}
    {%- set source = arg_dict['temp_relation'] -%}
    {%- set keys = arg_dict['unique_key'] -%}
    {%- set keys = [keys] if keys is string else keys -%}
    {%- set key_names = keys | map('lower') | list -%}
    {%- set columns = arg_dict['dest_columns'] -%}
    {#- the columns a matched row takes: all but the key and the model's merge_exclude_columns -#}
    {%- set excluded = (config.get('merge_exclude_columns') or []) | map('lower') | list -%}
    {%- set updated = [] -%}
    {%- for column in columns if column.name | lower not in key_names + excluded -%}
        {%- do updated.append(column.quoted) -%}
    {%- endfor -%}
    {%- set matched -%}
        {%- for key in keys -%}
            target.{{ adapter.quote(key) }} = source.{{ adapter.quote(key) }}{{ ' and ' if not loop.last }}
        {%- endfor -%}
    {%- endset -%}
    {%- set column_list = columns | map(attribute='quoted') | join(', ') -%}
{% if updated %}
update {{ target }} as target
set
    {% for column in updated -%}
    {{ column }} = source.{{ column }}{{ ',' if not loop.last }}
    {% endfor -%}
from {{ source }} as source
where {{ matched }};
{% endif %}
insert into {{ target }} ({{ column_list }})
select {{ column_list }}
from {{ source }} as source
where not exists (
    select 1 from {{ target }} as target
    where {{ matched }}
)
{% endmacro %}
