{#-
  How a seed's rows are inserted on PostgreSQL (and on Redshift, whose dispatch falls back to
  postgres__). dbt's default__load_csv_rows renders one placeholder per cell through a Jinja
  loop and a macro call: the 98,000 rows of icd10cm_codes took ~25 s of CPU on every build,
  where dbt build loads each seed again. Here each batch's statement is built from one row's
  placeholders, repeated: the same inserts and bindings, and the four seeds load in 3.8 s
  instead of 25.9 s (dbt seed on the test cluster).
  DuckDB copies the file itself (dbt-duckdb); SQL Server keeps dbt-sqlserver's batches, which
  respect its 2,100-parameter limit.
-#}
{% macro postgres__load_csv_rows(model, agate_table) %}
    {%- set cols_sql = get_seed_column_quoted_csv(model, agate_table.column_names) -%}
    {%- set one_row = '(' ~ ([get_binding_char()] * (agate_table.column_names | length)) | join(', ') ~ ')' -%}
    {%- set statements = [] -%}
    {%- for chunk in agate_table.rows | batch(get_batch_size()) -%}
        {%- set bindings = [] -%}
        {%- for row in chunk -%}
            {%- do bindings.extend(row) -%}
        {%- endfor -%}
        {%- set sql = 'insert into ' ~ this.render() ~ ' (' ~ cols_sql ~ ') values '
            ~ ([one_row] * (chunk | length)) | join(', ') -%}
        {%- do adapter.add_query(sql, bindings=bindings, abridge_sql_log=True) -%}
        {%- if loop.first -%}
            {%- do statements.append(sql) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(statements[0]) }}
{% endmacro %}
