{#- The claim date WeeklyDeniedClaims weeks by: var denied_claims_week_basis, adjudicated (default) or submitted. -#}
{% macro denied_claims_week_date() %}
    {%- set basis = var('denied_claims_week_basis', 'adjudicated') -%}
    {%- if basis not in ('adjudicated', 'submitted') -%}
        {{ exceptions.raise_compiler_error(
            "var denied_claims_week_basis must be 'adjudicated' or 'submitted', not '" ~ basis ~ "'"
        ) }}
    {%- endif -%}
    {{ return(basis ~ '_date') }}
{% endmacro %}
