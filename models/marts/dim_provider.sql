-- depends_on: {{ ref('stg_landing__providers') }}
{{ config(
    alias=contract_relation_name('DimProvider'),
    materialized='incremental',
    unique_key='ProviderID',
    incremental_strategy=upsert_strategy(),
    on_schema_change='fail',
) }}

with

registry as (

    select
        provider_id,
        provider_key
    from {{ ref('int_provider_keys') }}
    {% if is_incremental() %}
        where {{ changed_members('provider_id', 'provider_key', ref('stg_landing__providers'), 'ProviderID') }}
    {% endif %}

),

providers as (

    select
        provider_id,
        hospital_id,
        provider_name,
        specialty,
        license_number,
        provider_group,
        is_active,
        _load_id
    from {{ ref('int_providers_deduplicated') }}

),

final as (

    select
        cast(registry.provider_key as integer) as ProviderID,
        cast(providers.provider_name as varchar(100)) as ProviderName,
        cast(providers.specialty as varchar(50)) as Specialty,
        cast(providers.license_number as varchar(20)) as LicenseNumber,
        providers.is_active as IsActive,
        cast(providers.provider_group as varchar(100)) as ProviderGroup,
        cast(providers.hospital_id as varchar(64)) as SourceHospitalID,
        cast(registry.provider_id as varchar(64)) as SourceProviderID,
        {{ bit_from('providers.provider_id is null') }} as IsInferredMember,
        cast(providers._load_id as {{ dbt.type_bigint() }}) as LoadID
    from registry
    left join providers
        on registry.provider_id = providers.provider_id

)

select * from final
{{ storage_order("ProviderID") }}
