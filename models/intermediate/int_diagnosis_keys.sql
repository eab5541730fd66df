{{ config(
    materialized='incremental',
    full_refresh=false,
    unique_key='diagnosis_key',
    incremental_strategy=upsert_strategy(),
    on_schema_change='append_new_columns',
) }}

{#- ICD-10-CM codes first (in code order), then codes as files name them. -#}
{{ surrogate_key_registry('diagnosis_code_key', 'diagnosis_key', 'integer', [
    {'relation': ref('icd10cm_codes'), 'id': code_key('diagnosis_code'), 'order': '0'},
    {'relation': ref('stg_landing__diagnoses'), 'id': 'diagnosis_code_key'},
    {'relation': ref('stg_landing__encounters'), 'id': 'diagnosis_code_key'},
], track_progress=true) }}
