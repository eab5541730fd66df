with

source as (

    select * from {{ source('landing', 'providers') }}
    where {{ within_load_horizon() }}

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
        _source_line

    from source

),

-- each row's file and load time, from the ledger
with_lineage as (

    {{ with_load_lineage('renamed') }}

)

select * from with_lineage
