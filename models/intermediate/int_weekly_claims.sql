{{ config(
    materialized='incremental',
    unique_key='scope_key',
    incremental_strategy='replace_scopes',
    on_schema_change='fail',
) }}

-- depends_on: {{ source('landing', 'claims') }}

{#-
  The figures of WeeklyDeniedClaims, kept incrementally (strategy
  replace_scopes): one 'week' row per week, provider group and region, each
  in the scope of its week (W:<Monday>). A build counts again only the weeks
  something touched since the last one:
    - the weeks of claims written since, and the weeks they fell in when
      this model last counted them (the week a claim may have left): the week
      of the row their write replaced, when that row was already there at the
      last build; else the weeks of every version of them raw holds;
    - every week of a provider whose group or hospital region is not what the
      last build used ('provider' rows, scope #providers, record that).
  Everything is counted again when a file was superseded since (its keys may
  be rewritten with older load ids) or var denied_claims_week_basis changed.
  One 'build' row records what the last build counted up to.
-#}

{%- set week_date = denied_claims_week_date() -%}
{#- earlier_weeks: how the weeks claims left are found; a build by another way counts everything once
    (a table built before int_claims_deduplicated kept replaced dates has them empty) -#}
{%- set rules_signature = 'week_basis=' ~ week_date ~ ';earlier_weeks=replaced_rows' -%}
{%- set superseded_count = '(select count(*) from ' ~ superseded_loads() ~ ' as superseded)' -%}
{#- every row: its columns and types, and what each kind of row puts in them (null where not named) -#}
{%- set row_columns = [
    ('scope_key', 'varchar(20)'), ('row_kind', 'varchar(10)'), ('week_start_date', 'date'),
    ('provider_group', 'varchar(100)'), ('region', 'varchar(50)'), ('provider_id', 'varchar(64)'),
    ('claim_count', dbt.type_bigint()), ('denied_claim_count', dbt.type_bigint()),
    ('denied_amount', 'decimal(18, 2)'), ('built_through', dbt.type_bigint()),
    ('superseded_count', dbt.type_bigint()), ('rules_signature', 'varchar(100)'),
] -%}
{%- set week_row = {
    'scope_key': dbt.concat(["'W:'", 'cast(weekly.week_start_date as varchar(10))']), 'row_kind': "'week'",
} -%}
{%- for name in [
    'week_start_date', 'provider_group', 'region', 'claim_count', 'denied_claim_count', 'denied_amount',
] -%}
    {%- do week_row.update({name: 'weekly.' ~ name}) -%}
{%- endfor -%}
{%- set provider_row = {
    'scope_key': "'#providers'", 'row_kind': "'provider'", 'provider_id': 'provider_regions.provider_id',
    'provider_group': 'provider_regions.provider_group', 'region': 'provider_regions.region',
} -%}
{%- set scope_row = {'scope_key': 'scopes.scope_key', 'row_kind': "'scope'"} -%}
{%- set build_row = {
    'scope_key': "'#build'", 'row_kind': "'build'", 'built_through': 'horizon.load_horizon',
    'superseded_count': superseded_count, 'rules_signature': "'" ~ rules_signature ~ "'",
} -%}
{%- set select_lists = typed_select_lists(row_columns, [
    ('week', week_row), ('provider', provider_row), ('scope', scope_row), ('build', build_row),
]) -%}
{%- set count_all = not is_incremental() or judged_with_other_inputs(rules_signature, superseded_count) -%}
{%- if not count_all -%}
    {%- set built_through = watermark(
        "coalesce(max(built_through), 0) - " ~ var('incremental_lookback_loads')
    ) -%}
    {%- set counted_through = watermark('coalesce(max(built_through), 0)') -%}
{%- endif %}

with

horizon as (

    select load_horizon
    from {{ ref('stg_landing__load_horizon') }}

),

providers as (

    select
        SourceProviderID as provider_id,
        ProviderGroup as provider_group,
        SourceHospitalID as hospital_id
    from {{ ref('dim_provider') }}

),

hospitals as (

    select
        SourceHospitalID as hospital_id,
        Region as hospital_region
    from {{ ref('dim_hospital') }}

),

provider_regions as (

    -- the group and region each provider's claims are counted under now
    select
        providers.provider_id,
        coalesce(providers.provider_group, 'Unknown') as provider_group,
        coalesce(hospitals.hospital_region, 'Unknown') as region
    from providers
    left join hospitals
        on providers.hospital_id = hospitals.hospital_id

),

all_claims as {{ inline_cte() }} (

    select
        provider_id,
        claim_status,
        billed_amount,
        {{ week_start(week_date) }} as week_start_date,
        claim_id,
        _load_id
    from {{ ref('int_claims_deduplicated') }}

),

{% if count_all %}
    changed_providers as (

        -- a build that counts everything records every provider
        select provider_id
        from provider_regions

    ),

    scopes as (

        -- a build that counts everything replaces everything (in an incremental run)
        select '#all' as scope_key
        from horizon
        where {{ '1 = 1' if is_incremental() else '1 = 0' }}

    ),
{% else %}
    recorded_providers as (

        select
            provider_id,
            provider_group,
            region
        from {{ this }}
        where row_kind = 'provider'

    ),

    providers_now_other as (

        select
            provider_id,
            provider_group,
            region
        from provider_regions
        except
        select
            provider_id,
            provider_group,
            region
        from recorded_providers

    ),

    providers_then_other as (

        select
            provider_id,
            provider_group,
            region
        from recorded_providers
        except
        select
            provider_id,
            provider_group,
            region
        from provider_regions

    ),

    changed_providers as (

        select provider_id from providers_now_other
        union
        select provider_id from providers_then_other

    ),

    left_placements as (

        -- the group and region each changed provider's claims were counted under by the last build
        select
            provider_group,
            region
        from recorded_providers
        where provider_id in (select provider_id from changed_providers)
        union
        select
            'Unknown' as provider_group,
            'Unknown' as region
        from changed_providers
        where not exists (
            select 1
            from recorded_providers
            where recorded_providers.provider_id = changed_providers.provider_id
        )

    ),

    changed_claims as (

        select
            claim_id,
            {{ week_start(week_date) }} as week_start_date,
            {{ week_start('replaced_' ~ week_date) }} as replaced_week_start_date,
            replaced_load_id
        from {{ ref('int_claims_deduplicated') }}
        where _load_id > {{ built_through }}

    ),

    earlier_claim_weeks as (

        -- the weeks a changed claim fell in before: weeks it may have left. The row its write
        -- replaced, when the last build counted it (macro replaced_row_seen)
        select replaced_week_start_date as week_start_date
        from changed_claims
        where {{ replaced_row_seen(counted_through) }}
        union all
        -- else (written more than once since, or before replaced_* existed): every version raw
        -- holds, read from raw itself, a superset; only versions outside the weeks already
        -- touched. Most nights no claim is left here, and DuckDB then reads nothing of raw
        select {{ week_start('versions.' ~ week_date) }} as week_start_date
        from {{ source('landing', 'claims') }} as versions
        inner join changed_claims
            on versions.claim_id = changed_claims.claim_id
        where
            {{ replaced_row_unknown(counted_through, 'changed_claims') }}
            and {{ week_start('versions.' ~ week_date) }} not in (
                select week_start_date
                from changed_claims
                where week_start_date is not null
            )

    ),

    touched_weeks as (

        select week_start_date from changed_claims
        union
        select week_start_date from earlier_claim_weeks
        union
        -- every week a changed provider has claims in: a week its claims were counted in under
        -- the group and region recorded for it (or Unknown, recorded for none), read from this
        -- table, not from every claim (claims written since are changed_claims' already)
        select recorded_weeks.week_start_date
        from {{ this }} as recorded_weeks
        inner join left_placements
            on
                recorded_weeks.provider_group = left_placements.provider_group
                and recorded_weeks.region = left_placements.region
        where recorded_weeks.row_kind = 'week'

    ),

    scopes as (

        select {{ dbt.concat(["'W:'", 'cast(week_start_date as varchar(10))']) }} as scope_key
        from touched_weeks
        where week_start_date is not null

    ),
{% endif %}

claims as (

    select
        provider_id,
        claim_status,
        billed_amount,
        week_start_date
    from all_claims
    {% if not count_all %}
        where week_start_date in (select week_start_date from touched_weeks)
    {% endif %}

),

placements as (

    -- each group and region a provider is counted under, numbered: claims are grouped by that
    -- number (with their week), and named only once counted (grouping every claim by the two
    -- texts was the larger part of this model's time)
    select
        provider_group,
        region,
        row_number() over (order by provider_group, region) as placement_id
    from provider_regions
    group by provider_group, region

),

provider_placements as (

    select
        provider_regions.provider_id,
        placements.placement_id
    from provider_regions
    inner join placements
        on
            provider_regions.provider_group = placements.provider_group
            and provider_regions.region = placements.region

),

placement_weeks as (

    select
        claims.week_start_date,
        provider_placements.placement_id,
        count(*) as claim_count,
        sum(case when claims.claim_status = 'denied' then 1 else 0 end) as denied_claim_count,
        sum(case when claims.claim_status = 'denied' then claims.billed_amount else 0 end) as denied_amount
    from claims
    left join provider_placements
        on claims.provider_id = provider_placements.provider_id
    where claims.week_start_date is not null
    group by claims.week_start_date, provider_placements.placement_id

),

named_placement_weeks as (

    -- a claim of a provider unknown here is counted under Unknown, Unknown
    select
        placement_weeks.week_start_date,
        coalesce(placements.provider_group, 'Unknown') as provider_group,
        coalesce(placements.region, 'Unknown') as region,
        placement_weeks.claim_count,
        placement_weeks.denied_claim_count,
        placement_weeks.denied_amount
    from placement_weeks
    left join placements
        on placement_weeks.placement_id = placements.placement_id

),

weekly as (

    -- one row per week, group and region (the unknown providers' and a provider counted under
    -- Unknown, Unknown, added together)
    select
        week_start_date,
        provider_group,
        region,
        sum(claim_count) as claim_count,
        sum(denied_claim_count) as denied_claim_count,
        sum(denied_amount) as denied_amount
    from named_placement_weeks
    group by week_start_date, provider_group, region

),

final as (

    select
        {{ select_lists['week'] | join(',\n        ') }}
    from weekly
    union all
    select
        {{ select_lists['provider'] | join(',\n        ') }}
    from provider_regions
    where exists (select 1 from changed_providers)
    union all
    select
        {{ select_lists['scope'] | join(',\n        ') }}
    from scopes
    union all
    select
        {{ select_lists['build'] | join(',\n        ') }}
    from horizon

)

select * from final
