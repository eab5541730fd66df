{#-
  The rows of a deduplicated table (`relation`) an incremental mart built from
  it must take in: those written since the mart's last build (load ids above
  its highest LoadID, less var incremental_lookback_loads, compared with a
  literal so every older storage block is skipped, macro watermark), and, by
  id, those of members the mart built from a file version since superseded
  (the row now winning may be older). A late row that lost was never written,
  so it changes nothing. In a full build, every row. Used by
  FactPatientEncounters and DimPatient; `mart_id_column` is the mart's column
  holding `id_column`.
-#}
{% macro rows_to_rebuild(relation, columns, id_column, mart_id_column) %}
    {%- set built_through_sql = "coalesce(max(LoadID), 0) - " ~ var('incremental_lookback_loads') -%}
    select
        {{ columns | join(',\n        ') }}
    from {{ relation }}
    {%- if is_incremental() %}
    where _load_id > {{ watermark(built_through_sql) }}
    union all
    select
        {{ columns | join(',\n        ') }}
    from {{ relation }}
    where
        -- a subquery on purpose (see macro latest_versions)
        _load_id <= (select {{ built_through_sql }} from {{ this }})
        and {{ id_column }} in (
            select {{ mart_id_column }}
            from {{ this }}
            where LoadID in {{ superseded_loads() }}
        )
    {%- endif %}
{%- endmacro %}
