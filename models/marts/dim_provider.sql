{{ config(alias=contract_relation_name('DimProvider')) }}

with

registry as (

    select
        provider_id,
        provider_key
    from {{ ref('int_provider_keys') }}

),

providers as (

    select
        provider_id,
        hospital_id,
        provider_name,
        specialty,
        license_number,
        provider_group,
        is_active
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
        {{ bit_from('providers.provider_id is null') }} as IsInferredMember
    from registry
    left join providers
        on registry.provider_id = providers.provider_id

)

select * from final
