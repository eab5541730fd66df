{{ latest_versions(
    relation=ref('stg_landing__hospitals'),
    key='hospital_id',
    columns=['hospital_id', 'hospital_name', 'state', 'region', 'facility_type'],
) }}
