{#-
  An integer surrogate key registry for one kind of member.

  Every source id seen anywhere (its own entity's rows, or facts that name it)
  gets the next integer, in order of first appearance (load id, then line), so
  a rebuild from the same raw data gives the same keys. The model is
  incremental with full_refresh = false: keys already given are never
  recomputed, even by `dbt build --full-refresh`; new ids are appended after
  the current maximum.

  appearances: list of {'relation': ..., 'id': 'column expression'}; a
  relation without _load_id/_source_line (a seed) passes 'order': '0'.

  Incremental builds read only loads after the one that gave the newest key
  (less var incremental_lookback_loads): every id of that load and the ones
  before it has its key already, since a build sees whole committed loads.
-#}
{% macro surrogate_key_registry(id_column, key_column, key_type, appearances) %}
with

appearances as (

    {% for a in appearances %}
    select
        {{ a.id }} as {{ id_column }},
        {{ a.get('order', 'cast(_load_id as ' ~ dbt.type_bigint() ~ ') * 10000000000 + _source_line') }} as seen_order
    from {{ a.relation }}
    {% if is_incremental() and 'order' not in a %}
        where _load_id > (
            select floor(coalesce(max(first_seen_order), 0) / 10000000000) - {{ var('incremental_lookback_loads') }}
            from {{ this }}
        )
    {% endif %}
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

first_seen as (

    select
        {{ id_column }},
        min(seen_order) as first_seen_order
    from appearances
    where {{ id_column }} is not null
    group by {{ id_column }}

),

new_members as (

    select
        first_seen.{{ id_column }},
        first_seen.first_seen_order
    from first_seen
    {% if is_incremental() %}
        where not exists (
            select 1 from {{ this }} as given
            where given.{{ id_column }} = first_seen.{{ id_column }}
        )
    {% endif %}

),

key_offset as (

    {% if is_incremental() %}
        select coalesce(max({{ key_column }}), 0) as max_key from {{ this }}
    {% else %}
        select 0 as max_key
    {% endif %}

),

registered as (

    select
        new_members.{{ id_column }},
        cast(
            key_offset.max_key
            + row_number() over (order by new_members.first_seen_order, new_members.{{ id_column }})
            as {{ key_type }}
        ) as {{ key_column }},
        new_members.first_seen_order
    from new_members
    cross join key_offset

)

select * from registered
{% endmacro %}
