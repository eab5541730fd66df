"""carestar: land hospital data files in a warehouse, exactly once."""

__version__ = "0.1.0"

# warehouses the loader lands in and dbt builds on (profiles/profiles.yml targets)
TARGETS = ("duckdb", "postgres", "sqlserver", "redshift")
