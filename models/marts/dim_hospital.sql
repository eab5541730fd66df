-- depends_on: {{ ref('stg_landing__hospitals') }}
{{ config(
    alias=contract_relation_name('DimHospital'),
    materialized='incremental',
    unique_key='HospitalID',
    incremental_strategy=upsert_strategy(),
    on_schema_change='fail',
) }}

with

registry as (

    select
        hospital_id,
        hospital_key
    from {{ ref('int_hospital_keys') }}
    {% if is_incremental() %}
        where {{ changed_members('hospital_id', 'hospital_key', ref('stg_landing__hospitals'), 'HospitalID') }}
    {% endif %}

),

hospitals as (

    select
        hospital_id,
        hospital_name,
        state,
        region,
        facility_type,
        _load_id
    from {{ ref('int_hospitals_deduplicated') }}

),

state_regions as (

    select
        state,
        region
    from {{ ref('state_regions') }}

),

final as (

    select
        cast(registry.hospital_key as integer) as HospitalID,
        cast(hospitals.hospital_name as varchar(100)) as HospitalName,
        -- a file's region wins; else the Census region of the state; else Unknown
        cast(coalesce(hospitals.region, state_regions.region, 'Unknown') as varchar(50)) as Region,
        cast(hospitals.state as varchar(2)) as State,
        cast(hospitals.facility_type as varchar(50)) as FacilityType,
        cast(registry.hospital_id as varchar(64)) as SourceHospitalID,
        {{ bit_from('hospitals.hospital_id is null') }} as IsInferredMember,
        cast(hospitals._load_id as {{ dbt.type_bigint() }}) as LoadID
    from registry
    left join hospitals
        on registry.hospital_id = hospitals.hospital_id
    left join state_regions
        on hospitals.state = state_regions.state

)

select * from final
{{ storage_order("HospitalID") }}
