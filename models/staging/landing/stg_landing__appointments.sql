with

source as (

    select * from {{ source('landing', 'appointments') }}
    where {{ within_load_horizon() }}

),

renamed as (

    select
        -- ids
        appointment_id,
        patient_id,
        provider_id,
        hospital_id,

        -- dates
        appointment_date,

        -- status
        status as appointment_status,

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
