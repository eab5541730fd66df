{{ config(alias=contract_relation_name('WeeklyDeniedClaims'), materialized='view') }}

{#-
  Claims per Monday-based week (of the adjudication date, or of the submission
  date with var denied_claims_week_basis = submitted), provider group and the
  region of the provider's hospital. A group and region with claims but no
  denials in a week has a row with zeros. Claims without the basis date (not
  yet adjudicated) belong to no week. The figures are kept in int_weekly_claims,
  which counts again only the weeks changed since the last build.
-#}

with

weekly as (

    select
        week_start_date,
        provider_group,
        region,
        claim_count,
        denied_claim_count,
        denied_amount
    from {{ ref('int_weekly_claims') }}
    where row_kind = 'week'

),

final as (

    select
        week_start_date as WeekStartDate,
        cast(provider_group as varchar(100)) as ProviderGroup,
        cast(region as varchar(50)) as Region,
        cast(denied_claim_count as integer) as DeniedClaimCount,
        cast(denied_amount as decimal(14, 2)) as DeniedAmount,
        cast(claim_count as integer) as ClaimCount,
        cast(cast(denied_claim_count as decimal(14, 4)) / claim_count as decimal(5, 4)) as DenialRate
    from weekly

)

select * from final
