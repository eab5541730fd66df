-- depends_on: {{ ref('stg_landing__patients') }}
{{ config(
    alias=contract_relation_name('DimPatient'),
    materialized='incremental',
    unique_key='PatientID',
    incremental_strategy=upsert_strategy(),
    on_schema_change='fail',
) }}

with

registry as (

    select
        patient_id,
        patient_key
    from {{ ref('int_patient_keys') }}
    {% if is_incremental() %}
        where {{ changed_members('patient_id', 'patient_key', ref('stg_landing__patients'), 'PatientID') }}
    {% endif %}

),

patients as (

    select
        patient_id,
        mrn,
        first_name,
        last_name,
        date_of_birth,
        gender,
        is_active,
        _load_id
    from {{ ref('int_patients_deduplicated') }}

),

final as (

    select
        cast(registry.patient_key as integer) as PatientID,
        cast(patients.mrn as varchar(20)) as PatientMRN,
        cast(patients.first_name as varchar(50)) as FirstName,
        cast(patients.last_name as varchar(50)) as LastName,
        cast(patients.date_of_birth as date) as DateOfBirth,
        cast(patients.gender as char(1)) as Gender,
        patients.is_active as IsActive,
        cast(registry.patient_id as varchar(64)) as SourcePatientID,
        {{ bit_from('patients.patient_id is null') }} as IsInferredMember,
        cast(patients._load_id as {{ dbt.type_bigint() }}) as LoadID
    from registry
    left join patients
        on registry.patient_id = patients.patient_id

)

select * from final
