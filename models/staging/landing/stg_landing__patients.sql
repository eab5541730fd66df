with

source as (

    select * from {{ source('landing', 'patients') }}
    where {{ within_load_horizon() }}

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
        _source_line

    from source

),

-- each row's file and load time, from the ledger
with_lineage as (

    {{ with_load_lineage('renamed') }}

)

select * from with_lineage
