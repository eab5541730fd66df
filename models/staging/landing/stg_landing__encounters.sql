with

source as (

    select * from {{ source('landing', 'encounters') }}
    where {{ within_load_horizon() }}

),

renamed as (

    select
        -- ids
        encounter_id,
        patient_id,
        provider_id,
        hospital_id,
        upper(trim(diagnosis_code)) as diagnosis_code,
        {{ code_key('diagnosis_code') }} as diagnosis_code_key,

        -- dates
        encounter_date,

        -- measures
        billing_amount,
        encounter_duration,

        -- versioning and lineage
        updated_at,
        _load_id,
        _source_line

    from source

),

-- each row's file and load time, from the ledger
with_lineage as (

    {{ with_load_lineage('renamed') }}

)

select * from with_lineage
