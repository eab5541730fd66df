{{ config(alias=contract_relation_name('BillingByRegionDiagnosis')) }}

{#- The acceptance query's figures for every year, ready for a dashboard. -#}

with

encounters as (

    select
        HospitalID,
        DiagnosisID,
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

diagnoses as (

    select
        DiagnosisID,
        DiagnosisCode,
        DiagnosisDescription,
        Category
    from {{ ref('dim_diagnosis') }}

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
        diagnoses.DiagnosisID,
        diagnoses.DiagnosisCode,
        diagnoses.DiagnosisDescription,
        diagnoses.Category,
        count(*) as EncounterCount,
        sum(encounters.BillingAmount) as TotalBilling
    from encounters
    inner join hospitals
        on encounters.HospitalID = hospitals.HospitalID
    inner join diagnoses
        on encounters.DiagnosisID = diagnoses.DiagnosisID
    inner join dates
        on encounters.DateID = dates.DateID
    group by
        hospitals.Region,
        dates.Year,
        diagnoses.DiagnosisID,
        diagnoses.DiagnosisCode,
        diagnoses.DiagnosisDescription,
        diagnoses.Category

)

select * from final
