{{ config(
    materialized='incremental',
    unique_key='claim_id',
    incremental_strategy=upsert_strategy(),
    on_schema_change='fail',
) }}

{{ latest_versions(
    relation=ref('stg_landing__claims'),
    key='claim_id',
    columns=[
        'claim_id', 'encounter_id', 'patient_id', 'provider_id', 'payer', 'claim_status', 'denial_reason_code',
        'submitted_date', 'adjudicated_date', 'billed_amount', 'allowed_amount', 'paid_amount',
    ],
) }}
