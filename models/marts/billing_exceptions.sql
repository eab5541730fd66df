{{ config(alias=contract_relation_name('BillingExceptions')) }}

{#-
  One row per encounter or claim that breaks a billing rule (docs/marts.md):
    BE01 encounter billing zero or negative
    BE02 encounter billing above var billing_norm_multiplier x its diagnosis's average
    BE03 claim billed amount differs from its encounter's billing
    BE04 claim whose encounter is not in the warehouse (or names none)
    BE05 encounter with no claim var unclaimed_after_days after its date (at as_of_date)
    BE06 a second (or later) claim for one encounter
-#}

with

as_of as (

    select {{ as_of_date() }} as as_of_date

),

encounters as {{ inline_cte() }} (

    select
        encounter_id,
        provider_id,
        diagnosis_code_key,
        encounter_date,
        billing_amount
    from {{ ref('int_encounters_deduplicated') }}

),

claims as {{ inline_cte() }} (

    select
        claim_id,
        encounter_id,
        provider_id,
        submitted_date,
        billed_amount
    from {{ ref('int_claims_deduplicated') }}

),

diagnosis_norms as (

    select
        diagnosis_code_key,
        avg(billing_amount) as average_billing
    from encounters
    where diagnosis_code_key is not null and billing_amount > 0
    group by diagnosis_code_key
    having count(*) >= {{ var('billing_norm_min_encounters') }}

),

claim_counts as (

    select
        encounter_id,
        count(*) as claim_count
    from claims
    where encounter_id is not null
    group by encounter_id

),

claim_order as (

    select
        claims.claim_id,
        claims.encounter_id,
        claims.provider_id,
        claims.submitted_date,
        claims.billed_amount,
        row_number() over (
            partition by claims.encounter_id order by claims.submitted_date, claims.claim_id
        ) as claim_number
    from claims
    inner join claim_counts
        on claims.encounter_id = claim_counts.encounter_id
    where claim_counts.claim_count > 1

),

encounter_claims as (

    -- one join answers BE03, BE04 and BE05: claims with and without their encounter,
    -- and encounters without a claim
    select
        claims.claim_id,
        claims.encounter_id,
        claims.provider_id,
        claims.submitted_date,
        claims.billed_amount,
        encounters.encounter_id as matched_encounter_id,
        encounters.provider_id as encounter_provider_id,
        encounters.encounter_date,
        encounters.billing_amount as encounter_billing_amount
    from encounters
    full outer join claims
        on encounters.encounter_id = claims.encounter_id

),

non_positive as (

    select
        'BE01' as rule_code,
        'encounter' as record_type,
        encounter_id as record_id,
        encounter_id,
        provider_id,
        encounter_date as record_date,
        billing_amount as amount
    from encounters
    where billing_amount <= 0

),

above_norm as (

    select
        'BE02' as rule_code,
        'encounter' as record_type,
        encounters.encounter_id as record_id,
        encounters.encounter_id,
        encounters.provider_id,
        encounters.encounter_date as record_date,
        encounters.billing_amount as amount
    from encounters
    inner join diagnosis_norms
        on encounters.diagnosis_code_key = diagnosis_norms.diagnosis_code_key
    where encounters.billing_amount > {{ var('billing_norm_multiplier') }} * diagnosis_norms.average_billing

),

amount_mismatch as (

    select
        'BE03' as rule_code,
        'claim' as record_type,
        claim_id as record_id,
        encounter_id,
        provider_id,
        submitted_date as record_date,
        billed_amount as amount
    from encounter_claims
    where
        claim_id is not null
        and matched_encounter_id is not null
        and abs(billed_amount - coalesce(encounter_billing_amount, 0)) > {{ var('claim_amount_tolerance') }}

),

claim_without_encounter as (

    select
        'BE04' as rule_code,
        'claim' as record_type,
        claim_id as record_id,
        encounter_id,
        provider_id,
        submitted_date as record_date,
        billed_amount as amount
    from encounter_claims
    where claim_id is not null and matched_encounter_id is null

),

encounter_without_claim as (

    select
        'BE05' as rule_code,
        'encounter' as record_type,
        encounter_claims.matched_encounter_id as record_id,
        encounter_claims.matched_encounter_id as encounter_id,
        encounter_claims.encounter_provider_id as provider_id,
        encounter_claims.encounter_date as record_date,
        encounter_claims.encounter_billing_amount as amount
    from encounter_claims
    cross join as_of
    where
        encounter_claims.claim_id is null
        and encounter_claims.encounter_date
        <= {{ dbt.dateadd('day', -1 * var('unclaimed_after_days'), 'as_of.as_of_date') }}

),

duplicate_claim as (

    select
        'BE06' as rule_code,
        'claim' as record_type,
        claim_id as record_id,
        encounter_id,
        provider_id,
        submitted_date as record_date,
        billed_amount as amount
    from claim_order
    where claim_number > 1

),

exceptions as (

    select * from non_positive
    union all
    select * from above_norm
    union all
    select * from amount_mismatch
    union all
    select * from claim_without_encounter
    union all
    select * from encounter_without_claim
    union all
    select * from duplicate_claim

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
