{{ config(
    materialized='incremental',
    unique_key='claim_id',
    incremental_strategy=upsert_strategy(located=true),
    on_schema_change='append_new_columns',
) }}

{#-
  Each write keeps, from the row it replaced, the encounter the claim named
  and its two dates (replaced_encounter_id, replaced_submitted_date,
  replaced_adjudicated_date, replaced_load_id): int_billing_exceptions judges
  that encounter again and int_weekly_claims counts that week again. A table
  built before these columns existed gets them empty (append_new_columns),
  and both models then search raw for those claims' earlier versions.
-#}

{{ latest_versions(
    relation=ref('stg_landing__claims'),
    key='claim_id',
    columns=[
        'claim_id', 'encounter_id', 'patient_id', 'provider_id', 'payer', 'claim_status', 'denial_reason_code',
        'submitted_date', 'adjudicated_date', 'billed_amount', 'allowed_amount', 'paid_amount',
    ],
    remember=['encounter_id', 'submitted_date', 'adjudicated_date'],
) }}
