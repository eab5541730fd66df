with

source as (

    select * from {{ source('landing', 'hospitals') }}
    where {{ within_load_horizon() }}

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
        _source_line

    from source

),

-- each row's file and load time, from the ledger
with_lineage as (

    {{ with_load_lineage('renamed') }}

)

select * from with_lineage
