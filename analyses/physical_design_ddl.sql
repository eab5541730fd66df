{#- The physical-design DDL of the current target, one statement block after another (macro physical_design_ddl). -#}
{% for ddl in physical_design_ddl() %}
{{ ddl }}
{% if not ddl.strip().endswith(';') and ddl.strip() %};{% endif %}
{% endfor %}
