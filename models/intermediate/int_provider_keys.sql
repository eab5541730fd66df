{{ config(
    materialized='incremental',
    full_refresh=false,
    unique_key='provider_key',
    incremental_strategy=upsert_strategy(),
    on_schema_change='append_new_columns',
) }}

{{ surrogate_key_registry('provider_id', 'provider_key', 'integer', [
    {'relation': ref('stg_landing__providers'), 'id': 'provider_id'},
    {'relation': ref('stg_landing__encounters'), 'id': 'provider_id'},
    {'relation': ref('stg_landing__claims'), 'id': 'provider_id'},
    {'relation': ref('stg_landing__appointments'), 'id': 'provider_id'},
], track_progress=true) }}
