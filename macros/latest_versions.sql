{#-
  One row per business key: the version the landing contract says wins
  (see latest_first). Used by every int_<entity>_deduplicated model, so the
  rule lives in one place and MERGE never sees a key twice.

  Incremental (upsert on the key, macro upsert_strategy): the rule is a total
  order, so the winner over all versions is the winner between the row built
  before and the rows loaded since the last build (load ids above the highest
  _load_id already built, less var incremental_lookback_loads). Raw history is
  never re-read: the rows loaded since compete with the built rows of their
  keys on the ordering columns alone, and a key is written only when one of
  its new rows wins. A late row that loses changes nothing; a row re-read
  inside the lookback meets itself (same load and line) and is written again
  unchanged. A key whose built row came from a file version since superseded
  (its row has left raw) has all its raw versions compete again, without it.

  remember: columns whose value in the row a write replaces is kept beside
  the new one, as replaced_<column>, with replaced_load_id, that row's
  _load_id (0: the key had no row; empty: not known, as after a full build).
  int_claims_deduplicated keeps the encounter and dates a changed claim had
  before, so int_billing_exceptions and int_weekly_claims need not search raw
  for them (macros replaced_row_seen and replaced_row_unknown, below).

  _replaced_row: where the row a write replaces lies in this table (macro
  row_locator; DuckDB's rowid, else empty), carried from this select to the
  write, which deletes by it (strategy delete_located_then_insert). Stored
  empty: a locator means nothing once the write is done.
-#}
{% macro latest_versions(relation, key, columns, remember=[]) %}
{%- set carried = columns + ['updated_at', '_load_id', '_source_file', '_source_line', '_loaded_at'] -%}
{%- set ordering = [key, 'updated_at', '_load_id', '_source_line'] -%}
{%- set built_through_sql = "coalesce(max(_load_id), 0) - " ~ var('incremental_lookback_loads') -%}
{%- set built_through -%}
    {%- if is_incremental() -%}{{ watermark(built_through_sql) }}{%- endif -%}
{%- endset -%}
with

{% if is_incremental() %}
    loaded_since as (

        select
            {{ carried | join(',\n            ') }}
        from {{ relation }}
        where _load_id > {{ built_through }}

    ),

    resurfaced as (

        select {{ key }}
        from {{ this }}
        where _load_id in {{ superseded_loads() }}

    ),

    challengers as (

        select
            {{ carried | join(',\n            ') }}
        from loaded_since
        union all
        select
            {{ carried | join(',\n            ') }}
        from {{ relation }}
        where
            {{ key }} in (select {{ key }} from resurfaced)
            -- a subquery on purpose: DuckDB then skips this branch when no key resurfaced;
            -- against a literal it hashed every older raw row first (1.8 s at 10M encounters)
            and _load_id <= (select {{ built_through_sql }} from {{ this }})

    ),

    built as (

        -- the keys of the challengers, read again from raw (a superset: a resurfaced key with no
        -- raw row left is not ranked, as its built row is not a contender). Semi-joined with the
        -- materialized challengers instead, the select took 17-27 s against 9 s (claims at 100M
        -- encounters), most of it in this scan's join
        select
            {{ (ordering + remember) | join(', ') }},
            {{ row_locator() }} as row_locator
        from {{ this }}
        where {{ key }} in (
            select {{ key }}
            from {{ relation }}
            where _load_id > {{ built_through }}
            union all
            select {{ key }}
            from resurfaced
        )

    ),

    contenders as (

        select {{ ordering | join(', ') }}
        from challengers
        union all
        select {{ ordering | join(', ') }}
        from built
        where _load_id not in {{ superseded_loads() }}

    ),

    ranked as (

        select
            {{ key }},
            _load_id,
            _source_line,
            row_number() over (
                partition by {{ key }}
                order by {{ latest_first() }}
            ) as version_rank
        from contenders

    ),

    latest as (

        select
            {%- for column in carried %}
            challengers.{{ column }},
            {%- endfor %}
            {%- for column in remember %}
            built.{{ column }} as replaced_{{ column }},
            {%- endfor %}
            {%- if remember %}
            coalesce(built._load_id, 0) as replaced_load_id,
            {%- endif %}
            built.row_locator as _replaced_row
        from challengers
        inner join ranked
            on
                challengers.{{ key }} = ranked.{{ key }}
                and challengers._load_id = ranked._load_id
                and challengers._source_line = ranked._source_line
        left join built
            on challengers.{{ key }} = built.{{ key }}
        where ranked.version_rank = 1

    )
{% else %}
    versions as (

        select
            {{ carried | join(',\n            ') }},
            row_number() over (
                partition by {{ key }}
                order by {{ latest_first() }}
            ) as version_rank
        from {{ relation }}

    ),

    latest as (

        select
            {{ carried | join(',\n            ') }}
            {%- for column in remember %},
            -- typed as the column, empty: a full build replaces no row
            case when 1 = 0 then {{ column }} end as replaced_{{ column }}
            {%- endfor %}
            {%- if remember %},
            cast(null as {{ dbt.type_bigint() }}) as replaced_load_id
            {%- endif %},
            cast(null as {{ dbt.type_bigint() }}) as _replaced_row
        from versions
        where version_rank = 1

    )
{% endif %}

select * from latest
{% endmacro %}


{#-
  For a model built from a remembering table: whether the row a write there
  replaced is the one this model's last build read (replaced_row_seen), or
  must be looked for in raw instead (replaced_row_unknown). `through` is the
  load horizon that build recorded: no build reads a row above it, so a
  replaced row at or below it was read, and none came in between. 0: the key
  had no row there, so none was read and none is looked for. Empty: not known
  (a full build, or a row written before the columns existed).
-#}
{% macro replaced_row_seen(through, relation=none) %}
    {%- set load_id = (relation ~ '.' if relation else '') ~ 'replaced_load_id' -%}
    ({{ load_id }} > 0 and {{ load_id }} <= {{ through }})
{%- endmacro %}

{% macro replaced_row_unknown(through, relation=none) %}
    {%- set load_id = (relation ~ '.' if relation else '') ~ 'replaced_load_id' -%}
    ({{ load_id }} is null or {{ load_id }} > {{ through }})
{%- endmacro %}
