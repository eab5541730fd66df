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

  track_progress=true, for members that seldom get new ids (hospitals,
  providers, diagnosis codes): the newest key may come from the first load of
  all, and every build would read every encounter since. Rows then carry
  registered_through_load, the load horizon of the build that wrote them, and
  each build also rewrites the row with the highest key, so the highest value
  is the last load examined: builds read only loads after it. The model needs
  unique_key = its key column (an upsert: one row rewritten, new ones
  inserted) and on_schema_change = 'append_new_columns' (a registry built
  before the column existed reads from its newest key's load once, and gets it).
-#}
{% macro surrogate_key_registry(id_column, key_column, key_type, appearances, track_progress=false) %}
{%- set newest_key_load -%}
    floor(max(first_seen_order) / 10000000000)
{%- endset -%}
{#- a registry built before registered_through_load existed gets it in this build -#}
{%- set progress_recorded = track_progress and is_incremental() and (
    var('offline', false) or not execute
    or 'registered_through_load' in adapter.get_columns_in_relation(this) | map(attribute='name') | map('lower')
) -%}
{%- set examined_through -%}
    {%- if progress_recorded -%}
        coalesce(max(registered_through_load), {{ newest_key_load }})
    {%- else -%}
        {{ newest_key_load }}
    {%- endif -%}
{%- endset -%}
{%- set loaded_after -%}
    {%- if is_incremental() -%}
        {{ watermark('coalesce(' ~ examined_through ~ ', 0) - ' ~ var('incremental_lookback_loads')) }}
    {%- endif -%}
{%- endset -%}
with

appearances as (

    {% for a in appearances %}
    select
        {{ a.id }} as {{ id_column }},
        {{ a.get('order', 'cast(_load_id as ' ~ dbt.type_bigint() ~ ') * 10000000000 + _source_line') }} as seen_order
    from {{ a.relation }}
    {% if is_incremental() and 'order' not in a %}
        where _load_id > {{ loaded_after }}
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

{% if track_progress %}
    ,

    horizon as (

        select load_horizon
        from {{ ref('stg_landing__load_horizon') }}

    ),

    written as (

        select
            {{ id_column }},
            {{ key_column }},
            first_seen_order
        from registered
        {% if is_incremental() %}
            union all
            -- the row with the highest key, rewritten unchanged but for the load it was examined through
            select
                {{ id_column }},
                {{ key_column }},
                first_seen_order
            from {{ this }}
            where {{ key_column }} = (select max({{ key_column }}) from {{ this }})
        {% endif %}

    )

    select
        written.{{ id_column }},
        written.{{ key_column }},
        written.first_seen_order,
        cast(horizon.load_horizon as {{ dbt.type_bigint() }}) as registered_through_load
    from written
    cross join horizon
{% else %}
    select * from registered
{% endif %}
{% endmacro %}
