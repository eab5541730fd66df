{#-
  The landing contract's rule for several versions of one key, as an ORDER BY
  list: the latest updated_at first (rows without one after rows with one),
  then the version loaded last (later load, then later line of the file).
  Written without NULLS LAST so it runs on SQL Server too.
-#}
{% macro latest_first() %}
    case when updated_at is null then 0 else 1 end desc,
    updated_at desc,
    _load_id desc,
    _source_line desc
{% endmacro %}


{#- How codes are matched: upper case, no dot, no surrounding spaces (E11.9 = e119). -#}
{% macro code_key(expr) %}
    upper(replace(trim({{ expr }}), '.', ''))
{% endmacro %}
