{#-
  ProviderMissedAppointments behaves as TOP 5 WITH TIES: ranks follow the
  counts, at least five providers are kept when five have missed appointments,
  and nobody tied with a kept provider is left out.
-#}
{% test missed_rank_keeps_ties(model) %}

with

kept as (

    select
        MissedAppointments,
        MissedRank,
        rank() over (order by MissedAppointments desc) as expected_rank
    from {{ model }}

)

select * from kept
where MissedRank <> expected_rank

{% endtest %}
