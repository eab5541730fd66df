{{ config(
    materialized='incremental',
    unique_key='diagnosis_code_key',
    incremental_strategy=upsert_strategy(located=true),
    on_schema_change='fail',
) }}

{{ latest_versions(
    relation=ref('stg_landing__diagnoses'),
    key='diagnosis_code_key',
    columns=['diagnosis_code', 'diagnosis_code_key', 'description', 'category'],
) }}
