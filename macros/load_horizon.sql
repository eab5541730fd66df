{#-
  A condition keeping the rows of loads up to this build's load horizon
  (model stg_landing__load_horizon). Every read of raw goes through it.
-#}
{% macro within_load_horizon(load_id_column='_load_id') -%}
    {{ load_id_column }} <= (select load_horizon from {{ ref('stg_landing__load_horizon') }})
{%- endmacro %}
