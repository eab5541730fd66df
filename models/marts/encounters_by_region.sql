{{ config(
    alias=contract_relation_name('EncountersByRegion'),
    materialized=aggregate_materialization(),
    contract={'enforced': aggregate_materialization() == 'table'},
    unique_key=['Region', 'Year'],
) }}

{#-
  The region/year aggregate. One SELECT with inner joins, two-part names and
  COUNT_BIG, so SQL Server can keep it as an indexed view; a table on DuckDB,
  a materialized view on PostgreSQL and Redshift (macro aggregate_materialization).
  TotalBilling treats a missing amount as 0 (indexed views need a non-null SUM).
-#}

select
    hospitals.Region,
    dates.Year,
    {{ count_rows() }} as EncounterCount,
    sum({{ zero_if_null("encounters.BillingAmount") }}) as TotalBilling
from {{ ref('fct_patient_encounters').include(database=false) }} as encounters
inner join {{ ref('dim_hospital').include(database=false) }} as hospitals
    on encounters.HospitalID = hospitals.HospitalID
inner join {{ ref('dim_date').include(database=false) }} as dates
    on encounters.DateID = dates.DateID
group by hospitals.Region, dates.Year
