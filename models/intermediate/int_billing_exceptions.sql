{{ config(
    materialized='incremental',
    unique_key='scope_key',
    incremental_strategy='replace_scopes',
    on_schema_change='fail',
) }}

-- depends_on: {{ source('landing', 'claims') }}

{#-
  The rows of BillingExceptions (docs/marts.md), judged incrementally. The
  rules, each judged within one scope:
    BE01 encounter billing zero or negative
    BE03 claim billed amount differs from its encounter's billing
    BE04 claim whose encounter is not in the warehouse (or names none)
    BE05 encounter with no claim var unclaimed_after_days after its date (at as_of_date)
    BE06 a second (or later) claim for one encounter
      scope E:<encounter_id>: the encounter and every claim naming it;
      a claim naming no encounter is its own scope, C:<claim_id>
    BE02 encounter billing above var billing_norm_multiplier x its diagnosis's average
      scope #BE02: one average moves with any encounter, so all are judged again
  An incremental build judges again only the scopes something touched since
  the last build (strategy replace_scopes: their rows are replaced), found
  from the deduplicated tables' load ids:
    - encounters written since (their own scope);
    - claims written since: the scope they name now, and the scope they named
      when this model last judged them (the one they may have left): the
      encounter of the row their write replaced, when that row was already
      there at the last build; else every encounter any of their versions in
      raw named;
    - encounters whose date crossed BE05's age line since the last as_of_date;
    - #BE02 when any encounter was written.
  Everything is judged again when a file was superseded since (its keys may be
  rewritten with older load ids) or a threshold var changed. One 'build' row
  records what the last build judged up to.
-#}

{%- set rules_signature = [
    var('billing_norm_multiplier'), var('billing_norm_min_encounters'),
    var('claim_amount_tolerance'), var('unclaimed_after_days'),
] | join('|') -%}
{%- set encounter_columns = [
    'encounter_id', 'provider_id', 'diagnosis_code_key', 'encounter_date', 'billing_amount',
] -%}
{%- set claim_columns = ['claim_id', 'encounter_id', 'provider_id', 'submitted_date', 'billed_amount'] -%}
{#- every row: its columns and types, and what each kind of row puts in them (null where not named) -#}
{%- set row_columns = [
    ('scope_key', 'varchar(80)'), ('row_kind', 'varchar(10)'), ('rule_code', 'varchar(4)'),
    ('record_type', 'varchar(10)'), ('record_id', 'varchar(64)'), ('encounter_id', 'varchar(64)'),
    ('provider_id', 'varchar(64)'), ('record_date', 'date'), ('amount', 'decimal(10, 2)'),
    ('built_through', dbt.type_bigint()), ('judged_as_of', 'date'), ('superseded_count', dbt.type_bigint()),
    ('rules_signature', 'varchar(100)'),
] -%}
{%- set superseded_count = '(select count(*) from ' ~ superseded_loads() ~ ' as superseded)' -%}
{%- set unclaimed_line = dbt.dateadd('day', -1 * var('unclaimed_after_days'), as_of_date()) -%}
{%- set exception_row = {'row_kind': "'exception'"} -%}
{%- for name in [
    'scope_key', 'rule_code', 'record_type', 'record_id', 'encounter_id', 'provider_id', 'record_date', 'amount',
] -%}
    {%- do exception_row.update({name: 'exceptions.' ~ name}) -%}
{%- endfor -%}
{%- set scope_row = {'scope_key': 'scopes.scope_key', 'row_kind': "'scope'"} -%}
{%- set build_row = {
    'scope_key': "'#build'", 'row_kind': "'build'", 'built_through': 'horizon.load_horizon',
    'judged_as_of': 'as_of.as_of_date', 'superseded_count': superseded_count,
    'rules_signature': "'" ~ rules_signature | replace("'", "''") ~ "'",
} -%}
{%- set select_lists = typed_select_lists(
    row_columns, [('exception', exception_row), ('scope', scope_row), ('build', build_row)]
) -%}
{%- set judge_all = not is_incremental() or judged_with_other_inputs(rules_signature, superseded_count) -%}
{%- if not judge_all -%}
    {%- set built_through = watermark(
        "coalesce(max(built_through), 0) - " ~ var('incremental_lookback_loads')
    ) -%}
    {%- set judged_through = watermark('coalesce(max(built_through), 0)') -%}
    {%- set previous_line = dbt.dateadd(
        'day', -1 * var('unclaimed_after_days'), watermark('max(judged_as_of)', type='date')
    ) -%}
{%- endif %}

with

as_of as (

    select {{ as_of_date() }} as as_of_date

),

horizon as (

    select load_horizon
    from {{ ref('stg_landing__load_horizon') }}

),

all_encounters as {{ inline_cte() }} (

    select
        {{ encounter_columns | join(',\n        ') }},
        _load_id
    from {{ ref('int_encounters_deduplicated') }}

),

all_claims as {{ inline_cte() }} (

    select
        {{ claim_columns | join(',\n        ') }},
        _load_id
    from {{ ref('int_claims_deduplicated') }}

),

{% if judge_all %}
    encounters as (

        select
            {{ encounter_columns | join(',\n            ') }}
        from all_encounters

    ),

    claims as (

        select
            {{ claim_columns | join(',\n            ') }}
        from all_claims

    ),

    norm_encounters as {{ inline_cte() }} (

        select
            {{ encounter_columns | join(',\n            ') }}
        from all_encounters

    ),

    scopes as (

        -- a build that judges everything replaces everything (in an incremental run)
        select '#all' as scope_key
        from horizon
        where {{ '1 = 1' if is_incremental() else '1 = 0' }}

    ),
{% else %}
    changed_encounters as (

        select encounter_id
        from all_encounters
        where _load_id > {{ built_through }}

    ),

    changed_claims as (

        select
            {{ claim_columns | join(',\n            ') }},
            replaced_encounter_id,
            replaced_load_id
        from {{ ref('int_claims_deduplicated') }}
        where _load_id > {{ built_through }}

    ),

    earlier_claim_versions as (

        -- the encounters a changed claim named before: scopes it may have left. The row its
        -- write replaced, when the last build judged it (macro replaced_row_seen)
        select replaced_encounter_id as encounter_id
        from changed_claims
        where {{ replaced_row_seen(judged_through) }}
        union all
        -- else (written more than once since, or before replaced_* existed): every version raw
        -- holds, read from raw itself, a superset. Most nights no claim is left here, and DuckDB
        -- then reads nothing of raw (7-10 s of CPU at 100M encounters when it must)
        select versions.encounter_id
        from {{ source('landing', 'claims') }} as versions
        inner join changed_claims
            on versions.claim_id = changed_claims.claim_id
        where {{ replaced_row_unknown(judged_through, 'changed_claims') }}

    ),

    crossed_age_line as (

        -- encounters whose date passed BE05's age line between the two as_of dates (either way)
        select encounter_id
        from all_encounters
        where
            (encounter_date > {{ previous_line }} and encounter_date <= {{ unclaimed_line }})
            or (encounter_date <= {{ previous_line }} and encounter_date > {{ unclaimed_line }})

    ),

    touched_encounters as (

        select encounter_id from changed_encounters
        union
        select encounter_id from changed_claims where encounter_id is not null
        union
        select encounter_id from earlier_claim_versions where encounter_id is not null
        union
        select encounter_id from crossed_age_line

    ),

    encounters as (

        select
            {{ encounter_columns | join(',\n            ') }}
        from all_encounters
        where encounter_id in (select encounter_id from touched_encounters)

    ),

    claims as (

        select
            {{ claim_columns | join(',\n            ') }}
        from all_claims
        where encounter_id in (select encounter_id from touched_encounters)
        union all
        select
            {{ claim_columns | join(',\n            ') }}
        from changed_claims
        where encounter_id is null

    ),

    norm_encounters as {{ inline_cte() }} (

        select
            {{ encounter_columns | join(',\n            ') }}
        from all_encounters
        where exists (select 1 from changed_encounters)

    ),

    scopes as (

        select {{ dbt.concat(["'E:'", 'encounter_id']) }} as scope_key
        from touched_encounters
        union all
        select {{ dbt.concat(["'C:'", 'claim_id']) }} as scope_key
        from changed_claims
        union all
        select '#BE02' as scope_key
        from horizon
        where exists (select 1 from changed_encounters)

    ),
{% endif %}

diagnosis_norms as (

    -- the average as its sum and count: "above k times the average" is then compared exactly,
    -- in decimals on every target, where avg() gives a double on DuckDB and six decimals on SQL Server
    select
        diagnosis_code_key,
        sum(billing_amount) as total_billing,
        count(*) as encounter_count
    from norm_encounters
    where diagnosis_code_key is not null and billing_amount > 0
    group by diagnosis_code_key
    having count(*) >= {{ var('billing_norm_min_encounters') }}

),

claim_counts as (

    select
        encounter_id,
        count(*) as claim_count
    from claims
    where encounter_id is not null
    group by encounter_id

),

claim_order as (

    select
        claims.claim_id,
        claims.encounter_id,
        claims.provider_id,
        claims.submitted_date,
        claims.billed_amount,
        row_number() over (
            partition by claims.encounter_id order by claims.submitted_date, claims.claim_id
        ) as claim_number
    from claims
    inner join claim_counts
        on claims.encounter_id = claim_counts.encounter_id
    where claim_counts.claim_count > 1

),

encounter_claims as (

    -- one join answers BE03, BE04 and BE05: claims with and without their encounter,
    -- and encounters without a claim
    select
        claims.claim_id,
        claims.encounter_id,
        claims.provider_id,
        claims.submitted_date,
        claims.billed_amount,
        encounters.encounter_id as matched_encounter_id,
        encounters.provider_id as encounter_provider_id,
        encounters.encounter_date,
        encounters.billing_amount as encounter_billing_amount
    from encounters
    full outer join claims
        on encounters.encounter_id = claims.encounter_id

),

non_positive as (

    select
        'BE01' as rule_code,
        'encounter' as record_type,
        encounter_id as record_id,
        encounter_id,
        provider_id,
        encounter_date as record_date,
        billing_amount as amount
    from encounters
    where billing_amount <= 0

),

above_norm as (

    select
        'BE02' as rule_code,
        'encounter' as record_type,
        norm_encounters.encounter_id as record_id,
        norm_encounters.encounter_id,
        norm_encounters.provider_id,
        norm_encounters.encounter_date as record_date,
        norm_encounters.billing_amount as amount
    from norm_encounters
    inner join diagnosis_norms
        on norm_encounters.diagnosis_code_key = diagnosis_norms.diagnosis_code_key
    where
        norm_encounters.billing_amount * diagnosis_norms.encounter_count
        > {{ var('billing_norm_multiplier') }} * diagnosis_norms.total_billing

),

amount_mismatch as (

    select
        'BE03' as rule_code,
        'claim' as record_type,
        claim_id as record_id,
        encounter_id,
        provider_id,
        submitted_date as record_date,
        billed_amount as amount
    from encounter_claims
    where
        claim_id is not null
        and matched_encounter_id is not null
        and abs(billed_amount - coalesce(encounter_billing_amount, 0)) > {{ var('claim_amount_tolerance') }}

),

claim_without_encounter as (

    select
        'BE04' as rule_code,
        'claim' as record_type,
        claim_id as record_id,
        encounter_id,
        provider_id,
        submitted_date as record_date,
        billed_amount as amount
    from encounter_claims
    where claim_id is not null and matched_encounter_id is null

),

encounter_without_claim as (

    select
        'BE05' as rule_code,
        'encounter' as record_type,
        encounter_claims.matched_encounter_id as record_id,
        encounter_claims.matched_encounter_id as encounter_id,
        encounter_claims.encounter_provider_id as provider_id,
        encounter_claims.encounter_date as record_date,
        encounter_claims.encounter_billing_amount as amount
    from encounter_claims
    where
        encounter_claims.claim_id is null
        and encounter_claims.encounter_date <= {{ unclaimed_line }}

),

duplicate_claim as (

    select
        'BE06' as rule_code,
        'claim' as record_type,
        claim_id as record_id,
        encounter_id,
        provider_id,
        submitted_date as record_date,
        billed_amount as amount
    from claim_order
    where claim_number > 1

),

scoped_by_encounter as (

    select * from non_positive
    union all
    select * from amount_mismatch
    union all
    select * from claim_without_encounter
    union all
    select * from encounter_without_claim
    union all
    select * from duplicate_claim

),

exceptions as (

    select
        case
            when encounter_id is null then {{ dbt.concat(["'C:'", 'record_id']) }}
            else {{ dbt.concat(["'E:'", 'encounter_id']) }}
        end as scope_key,
        rule_code,
        record_type,
        record_id,
        encounter_id,
        provider_id,
        record_date,
        amount
    from scoped_by_encounter
    union all
    select
        '#BE02' as scope_key,
        rule_code,
        record_type,
        record_id,
        encounter_id,
        provider_id,
        record_date,
        amount
    from above_norm

),

final as (

    select
        {{ select_lists['exception'] | join(',\n        ') }}
    from exceptions
    union all
    select
        {{ select_lists['scope'] | join(',\n        ') }}
    from scopes
    union all
    select
        {{ select_lists['build'] | join(',\n        ') }}
    from horizon
    cross join as_of

)

select * from final
