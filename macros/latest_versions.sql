{#-
  One row per business key: the version the landing contract says wins
  (see latest_first). Used by every int_<entity>_deduplicated model, so the
  rule lives in one place and MERGE never sees a key twice.
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
