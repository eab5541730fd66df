with

source as (

    select * from {{ source('landing', 'hospitals') }}

),

renamed as (

    select
        -- ids
        hospital_id,

        -- descriptors
        hospital_name,
        state,
        region,
        facility_type,

        -- versioning and lineage
        updated_at,
        _load_id,
        _source_file,
        _source_line,
        _loaded_at

    from source

)

select * from renamed
