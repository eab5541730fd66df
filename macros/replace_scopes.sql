{#-
  Incremental strategy replace_scopes (int_billing_exceptions, int_weekly_claims): the model's
  rows each belong to a scope (its unique_key column), and an incremental
  build returns every row of each scope it judged again, plus one row of
  row_kind 'scope' per such scope, so a scope whose rows all went away is
  still named. Those scopes' rows are deleted and the returned rows, less the
  'scope' markers, inserted; a '#all' marker replaces every row. Two
  statements in the model's transaction, on every target.
-#}
{% macro get_incremental_replace_scopes_sql(arg_dict) %}
    {%- set target = arg_dict['target_relation'] -%}
    {%- set source = arg_dict['temp_relation'] -%}
    {%- set scope = adapter.quote(arg_dict['unique_key']) -%}
    {%- set column_list = arg_dict['dest_columns'] | map(attribute='quoted') | join(', ') -%}
delete from {{ target }}
where
    {{ scope }} in (select {{ scope }} from {{ source }})
    or exists (select 1 from {{ source }} where {{ scope }} = '#all');
insert into {{ target }} ({{ column_list }})
select {{ column_list }}
from {{ source }}
where row_kind <> 'scope'
{% endmacro %}


{#-
  Whether an incremental replace_scopes model (int_billing_exceptions,
  int_weekly_claims) must judge every record again: its last build used other
  vars (rules_signature), or a file was superseded since (the deduplicated
  tables may then have rewritten keys with older load ids, which no watermark
  finds). Read when the model runs; where there is no table to read (parsing,
  the offline compile, unit tests) it is false.
-#}
{% macro judged_with_other_inputs(rules_signature, superseded_count) %}
    {%- if not this_is_readable() -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set same = run_query(
        "select count(*) from " ~ this ~ " where row_kind = 'build'"
        ~ " and rules_signature = '" ~ rules_signature | replace("'", "''") ~ "'"
        ~ " and superseded_count = " ~ superseded_count
    ).columns[0].values()[0] -%}
    {{ return(same == 0) }}
{% endmacro %}


{#-
  The select lists of a replace_scopes model's kinds of row: for each (kind,
  given) in `kinds`, one `cast(<given[name], else null> as <type>) as <name>`
  per (name, type) of `row_columns`, so every branch of the model's final
  union has the same columns, in the same order, of the same types.
-#}
{% macro typed_select_lists(row_columns, kinds) %}
    {%- set lists = {} -%}
    {%- for kind, given in kinds -%}
        {%- set items = [] -%}
        {%- for name, type in row_columns -%}
            {%- do items.append('cast(' ~ given.get(name, 'null') ~ ' as ' ~ type ~ ') as ' ~ name) -%}
        {%- endfor -%}
        {%- do lists.update({kind: items}) -%}
    {%- endfor -%}
    {{ return(lists) }}
{% endmacro %}
