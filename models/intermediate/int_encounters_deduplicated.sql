{{ config(
    materialized='incremental',
    unique_key='encounter_id',
    incremental_strategy=upsert_strategy(located=true),
    on_schema_change='fail',
) }}

{{ latest_versions(
    relation=ref('stg_landing__encounters'),
    key='encounter_id',
    columns=[
        'encounter_id', 'patient_id', 'provider_id', 'hospital_id', 'diagnosis_code', 'diagnosis_code_key',
        'encounter_date', 'billing_amount', 'encounter_duration',
    ],
) }}
