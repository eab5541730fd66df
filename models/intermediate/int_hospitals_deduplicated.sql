{{ config(
    materialized='incremental',
    unique_key='hospital_id',
    incremental_strategy=upsert_strategy(located=true),
    on_schema_change='fail',
) }}

{{ latest_versions(
    relation=ref('stg_landing__hospitals'),
    key='hospital_id',
    columns=['hospital_id', 'hospital_name', 'state', 'region', 'facility_type'],
) }}
