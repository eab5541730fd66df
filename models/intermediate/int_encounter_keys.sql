{{ config(materialized='incremental', full_refresh=false) }}

{{ surrogate_key_registry('encounter_id', 'encounter_key', dbt.type_bigint(), [
    {'relation': ref('stg_landing__encounters'), 'id': 'encounter_id'},
]) }}
