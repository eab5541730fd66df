with

source as (

    select * from {{ source('landing', 'diagnoses') }}
    where {{ within_load_horizon() }}

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

-- each row's file and load time, from the ledger
with_lineage as (

    {{ with_load_lineage('renamed') }}

)

select * from with_lineage
