{{ latest_versions(
    relation=ref('stg_landing__patients'),
    key='patient_id',
    columns=['patient_id', 'mrn', 'first_name', 'last_name', 'date_of_birth', 'gender', 'is_active'],
) }}
