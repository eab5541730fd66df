with

source as (

    select * from {{ source('landing', 'providers') }}

),

renamed as (

    select
        -- ids
        provider_id,
        hospital_id,

        -- descriptors
        provider_name,
        specialty,
        license_number,
        provider_group,

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
