{{ config(
    alias=contract_relation_name('DimPatient'),
    materialized='incremental',
    unique_key='PatientID',
    incremental_strategy=upsert_strategy(),
    on_schema_change='fail',
) }}

{#-
  An incremental build rewrites the members macro changed_members names:
  new keys, and members whose deduplicated row was written since the last
  build. Those rows are the ones above the last build's highest LoadID, so
  their scan skips every older storage block (and, on DuckDB, never reads
  the names of the patients it passes over). A new key's row, if it has one,
  is among them: its id was first seen after the last build. Only a member
  built from a superseded file version may now take an older row; those are
  read by their ids, and when none exists that branch reads nothing (macro
  rows_to_rebuild).
-#}
{%- set patient_columns = [
    'patient_id', 'mrn', 'first_name', 'last_name', 'date_of_birth', 'gender', 'is_active', '_load_id',
] -%}

with

registry as (

    select
        patient_id,
        patient_key
    from {{ ref('int_patient_keys') }}
    {% if is_incremental() %}
        where {{ changed_members('patient_id', 'patient_key', ref('int_patients_deduplicated'), 'PatientID') }}
    {% endif %}

),

patients as (

    {{ rows_to_rebuild(ref('int_patients_deduplicated'), patient_columns, 'patient_id', 'SourcePatientID') }}

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
{{ storage_order("PatientID") }}
