{{ config(alias=contract_relation_name('LoadQuality')) }}

{#-
  Per load date, entity and rule, from the loader's ledger and rejected rows:
  RuleCode '(all)' carries the day's totals (rows read, landed, rejected); each
  rule code carries the rows it rejected (a row breaking two rules counts for
  both); a refused file shows under its file-level code with all its rows.
  Superseded file versions count on the day they were loaded. Loads up to the
  build's load horizon, as every other model.
-#}

with

ledger as (

    select
        load_id,
        entity,
        state,
        error_code,
        rows_read,
        rows_landed,
        rows_rejected,
        cast(finished_at as date) as load_date
    from {{ source('landing', 'load_ledger') }}
    where
        state in ('landed', 'superseded', 'rejected')
        and {{ within_load_horizon('load_id') }}

),

rejected_rows as (

    select
        load_id,
        rule_code,
        line
    from {{ source('landing', 'rejected_rows') }}
    where {{ within_load_horizon('load_id') }}

),

totals as (

    select
        load_date,
        entity,
        '(all)' as rule_code,
        count(*) as files,
        sum(rows_read) as rows_read,
        sum(rows_landed) as rows_landed,
        sum(rows_rejected) as rows_rejected
    from ledger
    group by load_date, entity

),

rows_per_file_and_rule as (

    select
        load_id,
        rule_code,
        count(distinct line) as rows_rejected
    from rejected_rows
    group by load_id, rule_code

),

row_rules as (

    select
        ledger.load_date,
        ledger.entity,
        rows_per_file_and_rule.rule_code,
        count(*) as files,
        0 as rows_read,
        0 as rows_landed,
        sum(rows_per_file_and_rule.rows_rejected) as rows_rejected
    from rows_per_file_and_rule
    inner join ledger
        on rows_per_file_and_rule.load_id = ledger.load_id
    where ledger.state <> 'rejected'
    group by ledger.load_date, ledger.entity, rows_per_file_and_rule.rule_code

),

file_rules as (

    select
        load_date,
        entity,
        error_code as rule_code,
        count(*) as files,
        sum(rows_read) as rows_read,
        0 as rows_landed,
        sum(rows_rejected) as rows_rejected
    from ledger
    where state = 'rejected'
    group by load_date, entity, error_code

),

unioned as (

    select * from totals
    union all
    select * from row_rules
    union all
    select * from file_rules

),

final as (

    select
        load_date as LoadDate,
        cast(entity as varchar(20)) as Entity,
        cast(rule_code as varchar(40)) as RuleCode,
        cast(files as integer) as Files,
        cast(rows_read as {{ dbt.type_bigint() }}) as RowsRead,
        cast(rows_landed as {{ dbt.type_bigint() }}) as RowsLanded,
        cast(rows_rejected as {{ dbt.type_bigint() }}) as RowsRejected
    from unioned

)

select * from final
