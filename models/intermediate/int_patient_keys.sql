{{ config(materialized='incremental', full_refresh=false) }}

{{ surrogate_key_registry('patient_id', 'patient_key', 'integer', [
    {'relation': ref('stg_landing__patients'), 'id': 'patient_id'},
    {'relation': ref('stg_landing__encounters'), 'id': 'patient_id'},
    {'relation': ref('stg_landing__claims'), 'id': 'patient_id'},
    {'relation': ref('stg_landing__appointments'), 'id': 'patient_id'},
]) }}
