with

source as (

    select * from {{ source('landing', 'claims') }}
    where {{ within_load_horizon() }}

),

renamed as (

    select
        -- ids
        claim_id,
        encounter_id,
        patient_id,
        provider_id,

        -- descriptors
        payer,
        claim_status,
        upper(trim(denial_reason_code)) as denial_reason_code,

        -- dates
        submitted_date,
        adjudicated_date,

        -- amounts
        billed_amount,
        allowed_amount,
        paid_amount,

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
