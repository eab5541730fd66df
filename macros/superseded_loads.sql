{#-
  Load ids of file versions since superseded (the loader removed their rows
  from raw when the same file came again with new content), as a subquery.
  An incremental model whose built row came from one of them builds that key
  again from what raw holds now, as a full rebuild would.
-#}
{% macro superseded_loads() %}
    (
        select load_id
        from {{ source('landing', 'load_ledger') }}
        where state = 'superseded' and load_id is not null
    )
{% endmacro %}
