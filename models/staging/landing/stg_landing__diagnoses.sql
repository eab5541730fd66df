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
        _source_file,
        _source_line,
        _loaded_at

    from source

)

select * from renamed
