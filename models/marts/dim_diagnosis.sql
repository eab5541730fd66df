-- depends_on: {{ ref('stg_landing__diagnoses') }}
{{ config(
    alias=contract_relation_name('DimDiagnosis'),
    materialized='incremental',
    unique_key='DiagnosisID',
    incremental_strategy=upsert_strategy(),
    on_schema_change='fail',
) }}

{#-
  Every ICD-10-CM code (seed), every code a diagnoses file adds (its
  description and category override the seed's), every other code an
  encounter names (an inferred member, spelled as it first arrived), and
  DiagnosisID 0, the Unknown diagnosis, for encounters with none.
-#}

with

registry as (

    select
        diagnosis_code_key,
        diagnosis_key
    from {{ ref('int_diagnosis_keys') }}
    {% if is_incremental() %}
        where
            {{ changed_members('diagnosis_code_key', 'diagnosis_key', ref('stg_landing__diagnoses'), 'DiagnosisID') }}
            -- first named by a file version since superseded: an inferred member is spelled again
            or floor(first_seen_order / 10000000000) in {{ superseded_loads() }}
    {% endif %}

),

icd10cm as (

    select
        {{ code_key('diagnosis_code') }} as diagnosis_code_key,
        diagnosis_code,
        description,
        category
    from {{ ref('icd10cm_codes') }}

),

landed as (

    select
        diagnosis_code_key,
        diagnosis_code,
        description,
        category,
        _load_id
    from {{ ref('int_diagnoses_deduplicated') }}

),

inferred_members as (

    -- members neither the code set nor a diagnoses file describes: only encounters name them
    select registry.diagnosis_code_key
    from registry
    left join icd10cm
        on registry.diagnosis_code_key = icd10cm.diagnosis_code_key
    left join landed
        on registry.diagnosis_code_key = landed.diagnosis_code_key
    where icd10cm.diagnosis_code_key is null and landed.diagnosis_code_key is null

),

appearances as (

    -- every encounter row naming one: read for those members only, never for the whole code set
    select
        encounters.diagnosis_code_key,
        encounters.diagnosis_code,
        row_number() over (
            partition by encounters.diagnosis_code_key
            order by encounters._load_id, encounters._source_line
        ) as appearance
    from {{ ref('stg_landing__encounters') }} as encounters
    where encounters.diagnosis_code_key in (select inferred_members.diagnosis_code_key from inferred_members)

),

named_by_encounters as (

    -- the code as it first arrived (ZZ9.9 or ZZ99: one member): later rows never change it,
    -- so a nightly build that does not write the member again agrees with a full rebuild
    select
        diagnosis_code_key,
        diagnosis_code
    from appearances
    where appearance = 1

),

members as (

    select
        cast(registry.diagnosis_key as integer) as DiagnosisID,
        cast(
            coalesce(icd10cm.diagnosis_code, landed.diagnosis_code, named_by_encounters.diagnosis_code)
            as varchar(10)
        ) as DiagnosisCode,
        cast(
            coalesce(landed.description, icd10cm.description, 'Unknown diagnosis code')
            as varchar(200)
        ) as DiagnosisDescription,
        cast(coalesce(landed.category, icd10cm.category, 'Unknown') as varchar(50)) as Category,
        {{ bit_from('icd10cm.diagnosis_code_key is null and landed.diagnosis_code_key is null') }}
            as IsInferredMember,
        cast(landed._load_id as {{ dbt.type_bigint() }}) as LoadID
    from registry
    left join icd10cm
        on registry.diagnosis_code_key = icd10cm.diagnosis_code_key
    left join landed
        on registry.diagnosis_code_key = landed.diagnosis_code_key
    left join named_by_encounters
        on registry.diagnosis_code_key = named_by_encounters.diagnosis_code_key

),

unknown_member as (

    select
        0 as DiagnosisID,
        cast('UNKNOWN' as varchar(10)) as DiagnosisCode,
        cast('Unknown diagnosis' as varchar(200)) as DiagnosisDescription,
        cast('Unknown' as varchar(50)) as Category,
        {{ bit_false() }} as IsInferredMember,
        cast(null as {{ dbt.type_bigint() }}) as LoadID

),

final as (

    select
        DiagnosisID,
        DiagnosisCode,
        DiagnosisDescription,
        Category,
        IsInferredMember,
        LoadID
    from members
    union all
    select
        DiagnosisID,
        DiagnosisCode,
        DiagnosisDescription,
        Category,
        IsInferredMember,
        LoadID
    from unknown_member

)

select * from final
{{ storage_order("DiagnosisID") }}
