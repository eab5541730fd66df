with

source as (

    select * from {{ source('landing', 'patients') }}

),

renamed as (

    select
        -- ids
        patient_id,
        mrn,

        -- person (PHI)
        first_name,
        last_name,
        date_of_birth,
        gender,

        -- status
        is_active,

        -- versioning and lineage
        updated_at,
        _load_id,
        _source_file,
        _source_line,
        _loaded_at

    from source

)

select * from renamed
