{{ config(
    materialized='incremental',
    full_refresh=false,
    unique_key='hospital_key',
    incremental_strategy=upsert_strategy(),
    on_schema_change='append_new_columns',
) }}

{{ surrogate_key_registry('hospital_id', 'hospital_key', 'integer', [
    {'relation': ref('stg_landing__hospitals'), 'id': 'hospital_id'},
    {'relation': ref('stg_landing__providers'), 'id': 'hospital_id'},
    {'relation': ref('stg_landing__encounters'), 'id': 'hospital_id'},
    {'relation': ref('stg_landing__appointments'), 'id': 'hospital_id'},
], track_progress=true) }}
