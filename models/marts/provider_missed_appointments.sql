{{ config(alias=contract_relation_name('ProviderMissedAppointments')) }}

{#-
  Missed appointments per provider in the 30 days before the as-of date (var
  as_of_date, today by default; the as-of day itself excluded), keeping the top
  five providers and everyone tied with the fifth, as TOP 5 WITH TIES would.
-#}

with

as_of as (

    select {{ as_of_date() }} as as_of_date

),

missed as (

    select
        appointments.provider_id,
        count(*) as missed_appointments
    from {{ ref('int_appointments_deduplicated') }} as appointments
    cross join as_of
    where
        appointments.appointment_status = 'missed'
        and appointments.appointment_date >= {{ dbt.dateadd('day', -30, 'as_of.as_of_date') }}
        and appointments.appointment_date < as_of.as_of_date
    group by appointments.provider_id

),

ranked as (

    select
        provider_id,
        missed_appointments,
        rank() over (order by missed_appointments desc) as missed_rank
    from missed

),

providers as (

    select
        SourceProviderID as provider_id,
        ProviderID,
        ProviderName
    from {{ ref('dim_provider') }}

),

final as (

    select
        as_of.as_of_date as AsOfDate,
        providers.ProviderID,
        providers.ProviderName,
        cast(ranked.missed_appointments as integer) as MissedAppointments,
        cast(ranked.missed_rank as integer) as MissedRank
    from ranked
    inner join providers
        on ranked.provider_id = providers.provider_id
    cross join as_of
    where ranked.missed_rank <= 5

)

select * from final
