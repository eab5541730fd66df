{{ config(alias=contract_relation_name('EncountersByRegion')) }}

with

encounters as (

    select
        HospitalID,
        DateID,
        BillingAmount
    from {{ ref('fct_patient_encounters') }}

),

hospitals as (

    select
        HospitalID,
        Region
    from {{ ref('dim_hospital') }}

),

dates as (

    select
        DateID,
        Year
    from {{ ref('dim_date') }}

),

final as (

    select
        hospitals.Region,
        dates.Year,
        count(*) as EncounterCount,
        sum(encounters.BillingAmount) as TotalBilling
    from encounters
    inner join hospitals
        on encounters.HospitalID = hospitals.HospitalID
    inner join dates
        on encounters.DateID = dates.DateID
    group by hospitals.Region, dates.Year

)

select * from final
