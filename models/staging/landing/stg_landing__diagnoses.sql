with

source as (

    select * from {{ source('landing', 'diagnoses') }}

),

renamed as (

    select
        -- ids
        upper(trim(diagnosis_code)) as diagnosis_code,
        {{ code_key('diagnosis_code') }} as diagnosis_code_key,

        -- descriptors
        description,
        category,

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
