{{ config(alias=contract_relation_name('BillingExceptions'), materialized='view') }}

{#-
  One row per encounter or claim that breaks a billing rule (docs/marts.md).
  The rows are judged in int_billing_exceptions, which judges again only what
  changed since the last build; this view names them for the dashboards, with
  the rule's description and the provider's key as they are now.
-#}

with

exceptions as (

    select
        rule_code,
        record_type,
        record_id,
        encounter_id,
        provider_id,
        record_date,
        amount
    from {{ ref('int_billing_exceptions') }}
    where row_kind = 'exception'

),

rules as (

    select
        rule_code,
        rule_description
    from {{ ref('billing_exception_rules') }}

),

providers as (

    select
        SourceProviderID as provider_id,
        ProviderID
    from {{ ref('dim_provider') }}

),

final as (

    select
        cast(exceptions.rule_code as varchar(4)) as RuleCode,
        cast(rules.rule_description as varchar(200)) as RuleDescription,
        cast(exceptions.record_type as varchar(10)) as RecordType,
        cast(exceptions.record_id as varchar(64)) as RecordID,
        cast(exceptions.encounter_id as varchar(64)) as SourceEncounterID,
        providers.ProviderID,
        cast({{ date_id('exceptions.record_date') }} as integer) as DateID,
        cast(exceptions.amount as decimal(10, 2)) as Amount
    from exceptions
    inner join rules
        on exceptions.rule_code = rules.rule_code
    left join providers
        on exceptions.provider_id = providers.provider_id

)

select * from final
