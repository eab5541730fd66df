{{ config(
    materialized='incremental',
    unique_key='provider_id',
    incremental_strategy=upsert_strategy(located=true),
    on_schema_change='fail',
) }}

{{ latest_versions(
    relation=ref('stg_landing__providers'),
    key='provider_id',
    columns=['provider_id', 'hospital_id', 'provider_name', 'specialty', 'license_number', 'provider_group', 'is_active'],
) }}
