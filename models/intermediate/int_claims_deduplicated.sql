{{ config(
    materialized='incremental',
    unique_key='claim_id',
    incremental_strategy=upsert_strategy(),
    on_schema_change='append_new_columns',
) }}

{#-
  Each write keeps the encounter the claim named in the row it replaced
  (replaced_encounter_id, replaced_load_id): int_billing_exceptions judges
  that encounter again. A table built before these columns existed gets
  them empty (append_new_columns), and int_billing_exceptions then searches
  raw for those claims' earlier versions.
-#}

{{ latest_versions(
    relation=ref('stg_landing__claims'),
    key='claim_id',
    columns=[
        'claim_id', 'encounter_id', 'patient_id', 'provider_id', 'payer', 'claim_status', 'denial_reason_code',
        'submitted_date', 'adjudicated_date', 'billed_amount', 'allowed_amount', 'paid_amount',
    ],
    remember=['encounter_id'],
) }}
