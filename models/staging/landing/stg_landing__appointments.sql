with

source as (

    select * from {{ source('landing', 'appointments') }}

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
        _source_file,
        _source_line,
        _loaded_at

    from source

)

select * from renamed
