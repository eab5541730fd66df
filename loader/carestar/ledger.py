"""Ledger stage: what was loaded, when, and how every row was accounted for.

Three tables in the raw schema, written in the same transaction as the rows
they describe:

- raw.load_ledger: one row per file version (uri, etag, size) with its state
  (landed, rejected, superseded, failed), rows read / landed / rejected,
  unknown columns and timings. read = landed + rejected, always.
- raw.rejected_rows: one row per broken rule: file, line, column, rule code.
  Never the value (it may be PHI).
- raw.load_runs: one row per loader run.

Rows in the entity tables carry their lineage as `_load_id` and `_source_line`;
the file and the load time are the ledger row's (source_uri, started_at), joined
in staging. Repeating an 80-character uri and a timestamp on every row made
PostgreSQL's COPY half again as slow, for values the ledger already holds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from carestar.contract import ENTITIES, Entity

SCHEMA = "raw"

LEDGER_COLUMNS: dict[str, str] = {
    "load_id": "bigint not null primary key",
    "run_id": "varchar(36) not null",
    "entity": "varchar(20) not null",
    "source_uri": "varchar(1024) not null",
    "etag": "varchar(128) not null",
    "size_bytes": "bigint not null",
    "state": "varchar(12) not null",
    "rows_read": "bigint not null",
    "rows_landed": "bigint not null",
    "rows_rejected": "bigint not null",
    "unknown_columns": "varchar(1024)",
    "error_code": "varchar(40)",
    "error_message": "varchar(1024)",
    "superseded_by": "bigint",
    "started_at": "timestamp not null",
    "finished_at": "timestamp not null",
}

REJECTED_COLUMNS: dict[str, str] = {
    "load_id": "bigint not null",
    "entity": "varchar(20) not null",
    "source_uri": "varchar(1024) not null",
    "line": "bigint not null",
    "column_name": "varchar(64)",
    "rule_code": "varchar(40) not null",
}

RUN_COLUMNS: dict[str, str] = {
    "run_id": "varchar(36) not null primary key",
    "source": "varchar(1024) not null",
    "target": "varchar(20) not null",
    "status": "varchar(12) not null",
    "files_seen": "bigint not null",
    "files_skipped": "bigint not null",
    "files_landed": "bigint not null",
    "files_rejected": "bigint not null",
    "files_failed": "bigint not null",
    "rows_read": "bigint not null",
    "rows_landed": "bigint not null",
    "rows_rejected": "bigint not null",
    "started_at": "timestamp not null",
    "finished_at": "timestamp",
}

LINEAGE_COLUMNS: dict[str, str] = {
    "_load_id": "bigint not null",
    "_source_line": "bigint not null",
}

# Lineage columns raw tables had before the ledger held them. DuckDB and PostgreSQL relax
# them (NULL allowed) where they find them, so an older warehouse keeps loading; on SQL Server
# and Redshift an operator drops them once (README).
LEGACY_LINEAGE_COLUMNS = ("_source_file", "_loaded_at")


def create_table_sql(table: str, columns: dict[str, str], schema: str = SCHEMA) -> str:
    body = ",\n    ".join(f"{name} {decl}" for name, decl in columns.items())
    return f"create table if not exists {schema}.{table} (\n    {body}\n)"


def raw_columns(entity: Entity) -> dict[str, str]:
    return {c.name: c.sql_type for c in entity.columns} | LINEAGE_COLUMNS


def schema_tables() -> dict[str, dict[str, str]]:
    """Every table of the raw schema with its portable column declarations, in order."""
    tables = {"load_ledger": LEDGER_COLUMNS, "rejected_rows": REJECTED_COLUMNS, "load_runs": RUN_COLUMNS}
    return tables | {e.name: raw_columns(e) for e in ENTITIES.values()}


def schema_ddl() -> list[str]:
    """Every statement that creates the raw schema (idempotent; DuckDB and PostgreSQL)."""
    statements = [f"create schema if not exists {SCHEMA}", f"create sequence if not exists {SCHEMA}.load_id_seq"]
    return statements + [create_table_sql(table, columns) for table, columns in schema_tables().items()]


@dataclass
class FileResult:
    """The ledger row of one file version."""

    load_id: int
    run_id: str
    entity: str
    source_uri: str
    etag: str
    size_bytes: int
    state: str
    started_at: datetime
    finished_at: datetime
    rows_read: int = 0
    rows_landed: int = 0
    rows_rejected: int = 0
    unknown_columns: list[str] = field(default_factory=list)
    error_code: str | None = None
    error_message: str | None = None
    rule_counts: dict[str, int] = field(default_factory=dict)
    superseded: int | None = None  # load id this version replaced

    def ledger_values(self) -> tuple:
        return (
            self.load_id,
            self.run_id,
            self.entity,
            self.source_uri,
            self.etag,
            self.size_bytes,
            self.state,
            self.rows_read,
            self.rows_landed,
            self.rows_rejected,
            ",".join(self.unknown_columns)[:1024] or None,
            self.error_code,
            (self.error_message or "")[:1024] or None,
            None,
            self.started_at,
            self.finished_at,
        )

    @property
    def seconds(self) -> float:
        return max((self.finished_at - self.started_at).total_seconds(), 1e-9)
