{{ config(materialized='view') }}

{#-
  Each claim (latest version) with what the marts group it by: the provider's
  surrogate key and group, the region of the provider's primary hospital, and
  the week of its adjudication or submission date.

  A view: only WeeklyDeniedClaims reads it, and aggregating through the join
  costs a fraction of writing every claim again on each build (8 s of a 25 s
  incremental build at 10M encounters on DuckDB).
-#}

with

claims as (

    select
        claim_id,
        encounter_id,
        provider_id,
        claim_status,
        submitted_date,
        adjudicated_date,
        billed_amount
    from {{ ref('int_claims_deduplicated') }}

),

providers as (

    select
        SourceProviderID as provider_id,
        ProviderID as provider_key,
        ProviderGroup as provider_group,
        SourceHospitalID as hospital_id
    from {{ ref('dim_provider') }}

),

hospitals as (

    select
        SourceHospitalID as hospital_id,
        Region as hospital_region
    from {{ ref('dim_hospital') }}

),

enriched as (

    select
        claims.claim_id,
        claims.encounter_id,
        claims.provider_id,
        providers.provider_key,
        coalesce(providers.provider_group, 'Unknown') as provider_group,
        coalesce(hospitals.hospital_region, 'Unknown') as region,
        claims.claim_status,
        claims.submitted_date,
        claims.adjudicated_date,
        claims.billed_amount,
        {{ week_start('claims.' ~ denied_claims_week_date()) }} as week_start_date
    from claims
    left join providers
        on claims.provider_id = providers.provider_id
    left join hospitals
        on providers.hospital_id = hospitals.hospital_id

)

select * from enriched
