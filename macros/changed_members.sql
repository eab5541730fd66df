{#-
  The members an incremental dimension build must (re)write: keys the registry
  gave since the last build (keys only grow), members whose own rows were
  loaded since then (load ids above the dimension's highest LoadID, less var
  incremental_lookback_loads), and members built from a file version since
  superseded. Use inside `{% if is_incremental() %}`.
-#}
{% macro changed_members(id_column, key_column, entity_relation, dimension_key, entity_id_column=none) %}
    (
        {{ key_column }} > {{ watermark('coalesce(max(' ~ dimension_key ~ '), 0)') }}
        or {{ id_column }} in (
            select {{ entity_id_column or id_column }}
            from {{ entity_relation }}
            where _load_id > {{ watermark("coalesce(max(LoadID), 0) - " ~ var('incremental_lookback_loads')) }}
        )
        or {{ key_column }} in (
            select {{ dimension_key }}
            from {{ this }}
            where LoadID in {{ superseded_loads() }}
        )
    )
{% endmacro %}
