{{ config(
    materialized='incremental',
    unique_key='appointment_id',
    incremental_strategy=upsert_strategy(located=true),
    on_schema_change='fail',
    post_hook="{{ missed_appointments_index(this) }}",
) }}

{{ latest_versions(
    relation=ref('stg_landing__appointments'),
    key='appointment_id',
    columns=['appointment_id', 'patient_id', 'provider_id', 'hospital_id', 'appointment_date', 'appointment_status'],
) }}
