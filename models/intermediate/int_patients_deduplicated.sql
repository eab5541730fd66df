{{ config(
    materialized='incremental',
    unique_key='patient_id',
    incremental_strategy=upsert_strategy(located=true),
    on_schema_change='fail',
) }}

{{ latest_versions(
    relation=ref('stg_landing__patients'),
    key='patient_id',
    columns=['patient_id', 'mrn', 'first_name', 'last_name', 'date_of_birth', 'gender', 'is_active'],
) }}
