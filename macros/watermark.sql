{#-
  The load (or key) an incremental model has taken in up to: `expression` (an
  aggregate over this model, e.g. coalesce(max(_load_id), 0) - lookback) as an
  integer literal, read when the model runs. Compared with a literal, a scan of
  raw or of a large model skips every storage block below it (DuckDB keeps the
  minimum and maximum of each block); compared with a subquery it reads every
  row (measured at 100M encounters: 5.8 s against 0.01 s for one registry's
  build with nothing new). Without a table to read (parsing, the offline
  compile for SQL Server and Redshift, a unit test whose `this` is a fixture)
  it is the subquery itself, which means the same. Use inside
  `{% if is_incremental() %}`. With type='date' the value is a date.
-#}
{% macro watermark(expression, type='integer') -%}
    {%- if this_is_readable() -%}
        {%- set value = run_query('select ' ~ expression ~ ' as watermark from ' ~ this).columns[0].values()[0] -%}
        {%- if value is none -%}
            {{ exceptions.raise_compiler_error('watermark of ' ~ this ~ ' is NULL: coalesce its expression') }}
        {%- endif -%}
        {%- if type == 'date' -%}
            cast('{{ value }}' as date)
        {%- else -%}
            {{- value | int -}}
        {%- endif -%}
    {%- else -%}
        (select {{ expression }} from {{ this }})
    {%- endif -%}
{%- endmacro %}

{#-
  Whether a model can read its own built table now: only when dbt executes it,
  not while parsing, not in the offline compile for SQL Server and Redshift,
  and not in a unit test (whose `this` is a fixture).
-#}
{% macro this_is_readable() %}
    {{ return(execute and not var('offline', false) and model.resource_type != 'unit_test') }}
{% endmacro %}
