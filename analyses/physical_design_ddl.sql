{#- The physical-design DDL of the current target, one statement block after another (macro physical_design_ddl). -#}
-- depends_on: {{ ref('fct_patient_encounters') }}, {{ ref('dim_patient') }}, {{ ref('dim_date') }}, {{ ref('dim_hospital') }}
{% for ddl in physical_design_ddl() %}
{{ ddl }}
{% if not ddl.strip().endswith(';') and ddl.strip() %};{% endif %}
{% endfor %}
