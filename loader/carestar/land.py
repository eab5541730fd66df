"""Land stage: write validated rows, rejected-row records and ledger rows.

A target owns one database connection and one transaction per file. DuckDB
validates and lands in the same connection (rows never leave the engine);
other targets are added beside it with the same methods.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

import duckdb
import pyarrow as pa

from carestar.contract import Entity
from carestar.ledger import LEDGER_COLUMNS, RUN_COLUMNS, SCHEMA, FileResult, schema_ddl
from carestar.read import RowReject
from carestar.validate import rejects_sql, valid_rows_sql

DEFAULT_DUCKDB_PATH = "warehouse/carestar.duckdb"


def duckdb_path() -> str:
    return os.environ.get("CARESTAR_DUCKDB_PATH") or DEFAULT_DUCKDB_PATH


class DuckDBTarget:
    """The embedded default: the file named by CARESTAR_DUCKDB_PATH."""

    name = "duckdb"

    def __init__(self, path: str | None = None) -> None:
        self.path = path or duckdb_path()
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self.con = duckdb.connect(self.path)
        self.con.execute("set timezone = 'UTC'")

    # -- lifecycle -------------------------------------------------------
    def ensure_schema(self) -> None:
        for statement in schema_ddl():
            self.con.execute(statement)

    def close(self) -> None:
        self.con.close()

    def begin(self) -> None:
        self.con.execute("begin transaction")

    def commit(self) -> None:
        self.con.execute("commit")

    def rollback(self) -> None:
        self.con.execute("rollback")

    @property
    def validation_connection(self) -> duckdb.DuckDBPyConnection:
        return self.con

    # -- ledger reads ----------------------------------------------------
    def versions(self) -> tuple[set[tuple[str, str, int]], dict[str, int]]:
        """(file versions already handled, landed load id per uri).

        A version is handled once it is landed or rejected; a failed one is
        tried again. At most one version of a uri is landed at a time.
        """
        rows = self.con.execute(
            f"""
            select source_uri, etag, size_bytes, state, load_id
            from {SCHEMA}.load_ledger
            where state in ('landed', 'rejected')
            """
        ).fetchall()
        handled = {(uri, etag, int(size)) for uri, etag, size, _, _ in rows}
        landed = {uri: int(load_id) for uri, _, _, state, load_id in rows if state == "landed"}
        return handled, landed

    def next_load_id(self) -> int:
        return int(self.con.execute(f"select coalesce(max(load_id), 0) + 1 from {SCHEMA}.load_ledger").fetchall()[0][0])

    # -- writes inside a file's transaction ------------------------------
    def land_valid(self, entity: Entity, load_id: int, uri: str, loaded_at: datetime) -> None:
        cols = ", ".join(entity.column_names)
        self.con.execute(
            f"""
            insert into {SCHEMA}.{entity.name} ({cols}, _load_id, _source_file, _source_line, _loaded_at)
            select {cols}, ?, ?, _line, ? from ({valid_rows_sql(entity)}) as v
            """,
            [load_id, uri, loaded_at],
        )

    def land_value_rejects(self, entity: Entity, load_id: int, uri: str) -> None:
        self.con.execute(
            f"""
            insert into {SCHEMA}.rejected_rows (load_id, entity, source_uri, line, column_name, rule)
            select ?, ?, ?, line, column_name, rule from ({rejects_sql()}) as r
            """,
            [load_id, entity.name, uri],
        )

    def land_row_rejects(self, entity: Entity, load_id: int, uri: str, rejects: list[RowReject]) -> None:
        if not rejects:
            return
        table = pa.table(
            {
                "line": pa.array([r.line for r in rejects], pa.int64()),
                "column_name": pa.array([r.column for r in rejects], pa.string()),
                "rule": pa.array([r.rule.value for r in rejects], pa.string()),
            }
        )
        self.con.register("_carestar_row_rejects", table)
        try:
            self.con.execute(
                f"""
                insert into {SCHEMA}.rejected_rows (load_id, entity, source_uri, line, column_name, rule)
                select ?, ?, ?, line, column_name, rule from _carestar_row_rejects
                """,
                [load_id, entity.name, uri],
            )
        finally:
            self.con.unregister("_carestar_row_rejects")

    def counts_in_database(self, entity: Entity, load_id: int) -> tuple[int, int, dict[str, int]]:
        """(rows landed, distinct rejected lines, broken rules by code) as the database has them."""
        landed = self.con.execute(
            f"select count(*) from {SCHEMA}.{entity.name} where _load_id = ?", [load_id]
        ).fetchall()[0][0]
        rejected = self.con.execute(
            f"select count(distinct line) from {SCHEMA}.rejected_rows where load_id = ?", [load_id]
        ).fetchall()[0][0]
        rules = dict(
            self.con.execute(
                f"select rule, count(*) from {SCHEMA}.rejected_rows where load_id = ? group by rule",
                [load_id],
            ).fetchall()
        )
        return int(landed), int(rejected), {k: int(v) for k, v in rules.items()}

    def supersede(self, entity: Entity, old_load_id: int, new_load_id: int) -> None:
        """Remove an earlier version's rows; its ledger row says what replaced it."""
        self.con.execute(f"delete from {SCHEMA}.{entity.name} where _load_id = ?", [old_load_id])
        self.con.execute(f"delete from {SCHEMA}.rejected_rows where load_id = ?", [old_load_id])
        self.con.execute(
            f"update {SCHEMA}.load_ledger set state = 'superseded', superseded_by = ? where load_id = ?",
            [new_load_id, old_load_id],
        )

    def write_ledger(self, result: FileResult) -> None:
        marks = ", ".join("?" for _ in LEDGER_COLUMNS)
        self.con.execute(
            f"insert into {SCHEMA}.load_ledger ({', '.join(LEDGER_COLUMNS)}) values ({marks})",
            list(result.ledger_values()),
        )

    # -- runs ------------------------------------------------------------
    def write_run(self, values: dict[str, object]) -> None:
        cols = [c for c in RUN_COLUMNS if c in values]
        self.con.execute(f"delete from {SCHEMA}.load_runs where run_id = ?", [values["run_id"]])
        self.con.execute(
            f"insert into {SCHEMA}.load_runs ({', '.join(cols)}) values ({', '.join('?' for _ in cols)})",
            [values[c] for c in cols],
        )


def open_target(name: str) -> DuckDBTarget:
    if name == "duckdb":
        return DuckDBTarget()
    raise ValueError(f"target {name!r} is not available yet; supported: duckdb")
