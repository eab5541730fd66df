{#-
  When a file of `entity` last landed, for source freshness: rows carry their
  load id only, and the ledger knows each load's time.
-#}
{% macro landed_at(entity) -%}
    select max(finished_at) from {{ source('landing', 'load_ledger') }}
    where entity = '{{ entity }}' and state = 'landed'
{%- endmacro %}
