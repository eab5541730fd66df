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
        _source_line

    from source

),

loads as (

    select
        load_id,
        source_uri,
        started_at
    from {{ source('landing', 'load_ledger') }}

),

-- the file and the load time of each row are its load's, kept in the ledger; a left join, so
-- no row is lost here (a not_null test on _source_file finds one without its ledger row)
with_lineage as (

    select
        renamed.*,
        loads.source_uri as _source_file,
        loads.started_at as _loaded_at

    from renamed
    left join loads on renamed._load_id = loads.load_id

)

select * from with_lineage
