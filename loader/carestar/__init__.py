"""carestar: land hospital data files in a warehouse, exactly once."""

__version__ = "0.1.0"

# warehouses the loader lands in and dbt builds on (profiles/profiles.yml targets)
TARGETS = ("duckdb", "postgres", "sqlserver", "redshift")

# Files landed at once on a target that takes several connections (DuckDB, PostgreSQL). Two keep
# both cores busy across a file's start and end, when one file alone leaves one idle.
DEFAULT_JOBS = 2
