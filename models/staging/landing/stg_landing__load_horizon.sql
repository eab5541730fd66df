{{ config(materialized='table') }}

{#-
  The last load a build reads: one row, written once at the start of every
  build (every staging view reads raw through it, macro within_load_horizon),
  so all models of one build see the same loads, however many commit meanwhile.

  It stops below the lowest load still claimed (a loader is landing it): load
  ids are given at claim time, so a slow file can commit after a quicker one
  with a higher id. Had a build read that higher load, its models' watermarks
  (the highest load id they hold) would pass the slow file's id and no later
  build would read it. Loads above the horizon wait for the next build.
  A dead loader's claim holds them back until a loader releases it (DuckDB: at
  the next load; other targets: once the claim's lease has run out).
-#}

with

ledger as (

    select
        load_id,
        state
    from {{ source('landing', 'load_ledger') }}

),

in_flight as (

    select min(load_id) as lowest_claimed
    from ledger
    where state = 'claimed'

),

recorded as (

    select max(load_id) as highest_load
    from ledger

),

final as (

    select
        cast(
            coalesce(in_flight.lowest_claimed - 1, recorded.highest_load, 0) as {{ dbt.type_bigint() }}
        ) as load_horizon
    from in_flight
    cross join recorded

)

select load_horizon from final
