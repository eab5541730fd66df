{#-
  One row per business key: the version the landing contract says wins
  (see latest_first). Used by every int_<entity>_deduplicated model, so the
  rule lives in one place and MERGE never sees a key twice.

  Incremental (upsert on the key, macro upsert_strategy): only keys with rows loaded since
  the last build (load ids above the highest _load_id already built, less var
  incremental_lookback_loads) are read, and all versions of those keys compete
  again, so a late row that loses changes nothing and one that wins replaces
  the row built before.
-#}
{% macro latest_versions(relation, key, columns) %}
with

versions as (

    select
        {{ columns | join(',\n        ') }},
        updated_at,
        _load_id,
        _source_file,
        _source_line,
        _loaded_at,
        row_number() over (
            partition by {{ key }}
            order by {{ latest_first() }}
        ) as version_rank

    from {{ relation }}
    {% if is_incremental() %}
        where {{ key }} in (
            select {{ key }}
            from {{ relation }}
            where _load_id > (
                select coalesce(max(_load_id), 0) - {{ var('incremental_lookback_loads') }}
                from {{ this }}
            )
        )
    {% endif %}

),

latest as (

    select
        {{ columns | join(',\n        ') }},
        updated_at,
        _load_id,
        _source_file,
        _source_line,
        _loaded_at

    from versions
    where version_rank = 1

)

select * from latest
{% endmacro %}
