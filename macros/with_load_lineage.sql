{#-
  The rows of `cte` with their file and load time, which the ledger keeps per load
  (raw rows carry only _load_id and _source_line). A left join: no row is lost
  here; the staging not_null test on _source_file finds one whose load left the ledger.
  Written for a CTE body indented four spaces.
-#}
{% macro with_load_lineage(cte) -%}
select
        {{ cte }}.*,
        loads.source_uri as _source_file,
        loads.started_at as _loaded_at
    from {{ cte }}
    left join {{ source('landing', 'load_ledger') }} as loads
        on {{ cte }}._load_id = loads.load_id
{%- endmacro %}
