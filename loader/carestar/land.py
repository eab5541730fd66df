"""Land stage: write validated rows, rejected-row records and ledger rows.

A target owns one database connection and one transaction per file. The
ledger's SQL is written once here (portable, `?` placeholders); targets differ
only in how they connect and how rows travel in bulk:

- DuckDB: batches are held as read, a few row groups' worth at a time, and one
  `insert ... select` validates them and inserts the valid rows inside the file's transaction.
- PostgreSQL: batches are validated into Arrow in an in-memory DuckDB, written
  as CSV in memory by pyarrow and streamed into `COPY ... FROM STDIN`.
- SQL Server (land_sqlserver.py): the driver's bulk copy into per-load staging
  tables, then one set-based insert inside the file's transaction.
- Redshift (land_redshift.py): validated Parquet to an S3 staging prefix, then
  one `COPY ... FORMAT AS PARQUET` from a manifest inside the file's transaction.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from carestar import TARGETS
from carestar.contract import ENTITIES, Entity, Kind
from carestar.ledger import LEDGER_COLUMNS, LEGACY_LINEAGE_COLUMNS, RUN_COLUMNS, SCHEMA, FileResult, schema_ddl
from carestar.pgbinary import copy_rows
from carestar.read import RowReject
from carestar.shapes import with_shapes
from carestar.validate import rejects_sql, valid_count, valid_rows_sql, validate_batch, validated_arrow, validation_sql

DEFAULT_DUCKDB_PATH = "warehouse/carestar.duckdb"
REJECT_COLUMNS = "load_id, entity, source_uri, line, column_name, rule_code"


def duckdb_path() -> str:
    return os.environ.get("CARESTAR_DUCKDB_PATH") or DEFAULT_DUCKDB_PATH


# DuckDB's buffer memory. 64MB took a 2 GB file's peak from 488-496 MB to 432-443 MB, and
# 10M encounters (two files side by side) ran as fast as with 128MB.
DEFAULT_MEMORY_LIMIT = "64MB"
# DuckDB: rows held before one statement validates and inserts them (DuckDBTarget.land_valid):
# four of DuckDB's row groups, so a file of up to a few hundred thousand rows lands in one insert.
HELD_ROWS = 4 * 122_880


def _validation_duckdb(path: str = ":memory:") -> duckdb.DuckDBPyConnection:
    """A DuckDB connection in UTC whose buffer memory is capped (it spills to disk beyond).

    The loader streams files of any size: with DuckDB's default (80% of RAM) a
    multi-GB file would grow the process to gigabytes. CARESTAR_DUCKDB_MEMORY_LIMIT
    changes the cap.
    """
    con = duckdb.connect(path)
    con.execute("set timezone = 'UTC'")
    limit = os.environ.get("CARESTAR_DUCKDB_MEMORY_LIMIT") or DEFAULT_MEMORY_LIMIT
    con.execute(f"set memory_limit = '{_checked_size(limit)}'")
    return con


def _checked_size(text: str) -> str:
    """A DuckDB size like 256MB or 2GB (it is written into a SET statement)."""
    if not re.fullmatch(r"\d+(\.\d+)?\s*[KMGT]i?B", text.strip(), re.IGNORECASE):
        raise TargetConfigError(f"CARESTAR_DUCKDB_MEMORY_LIMIT must be a size like 256MB or 2GB, not {text!r}")
    return text.strip()


def reject_records(
    entity: Entity, load_id: int, uri: str, lines: pa.Array, column_names: pa.Array, rule_codes: pa.Array
) -> pa.Table:
    """Rejected-row records (REJECT_COLUMNS) of one file: its lines, columns and rule codes."""
    n = len(lines)
    return pa.table(
        {
            "load_id": pa.array([load_id] * n, pa.int64()),
            "entity": pa.array([entity.name] * n, pa.string()),
            "source_uri": pa.array([uri] * n, pa.string()),
            "line": lines,
            "column_name": column_names,
            "rule_code": rule_codes,
        }
    )


class Target(ABC):
    """A warehouse the loader lands in."""

    name: str
    # the raw schema as written in SQL (Redshift reserves the word RAW: it quotes it)
    raw: str = SCHEMA

    # -- connection ------------------------------------------------------
    @abstractmethod
    def execute(self, sql: str, params: list | tuple = ()) -> None: ...

    @abstractmethod
    def fetchall(self, sql: str, params: list | tuple = ()) -> list[tuple]: ...

    @abstractmethod
    def begin(self) -> None: ...

    @abstractmethod
    def commit(self) -> None: ...

    @abstractmethod
    def rollback(self) -> None: ...

    @abstractmethod
    def close(self) -> None: ...

    @property
    @abstractmethod
    def validation_connection(self) -> duckdb.DuckDBPyConnection:
        """The DuckDB connection batches are validated in."""

    # A target that validates into Arrow on a connection used by nothing else (PostgreSQL)
    # does it in a thread of its own: the next batch is validated while this one lands.
    # DuckDB validates inside its insert (DuckDBTarget.validate); the others validate into
    # the temp table VALIDATED of their validation connection.
    validates_concurrently = False
    _validated: pa.Table | None = None
    # Whether reading runs in a thread of its own ahead of validation (three stages: read,
    # validate, land). Worth it where landing waits on a server process (PostgreSQL).
    reads_ahead = False

    def validate_detached(self, entity: Entity, table: pa.Table) -> pa.Table:
        """A batch validated into Arrow (typed columns, _line, _errors) on the validation connection."""
        return validated_arrow(self.validation_connection, entity, table)

    def validate(self, entity: Entity, table: pa.Table, detached: pa.Table | None = None) -> int:
        """Validate one batch of text columns for the land_* calls that follow; its valid rows.

        `detached` is validate_detached's result for this batch, when it was made ahead.
        """
        if not self.validates_concurrently:
            return validate_batch(self.validation_connection, entity, table)[0]
        self._validated = detached if detached is not None else self.validate_detached(entity, table)
        return valid_count(self._validated)

    # -- bulk writes inside a file's transaction -------------------------
    @abstractmethod
    def land_valid(self, entity: Entity, load_id: int) -> None:
        """Land the valid rows of the batch just validated (their lineage: load id and line)."""

    @abstractmethod
    def land_value_rejects(self, entity: Entity, load_id: int, uri: str) -> None:
        """Record the broken rules of the batch just validated."""

    @abstractmethod
    def _insert_row_rejects(self, table: pa.Table) -> None:
        """Insert rejected-row records given as an Arrow table with REJECT_COLUMNS."""

    def start_file(self, entity: Entity, load_id: int) -> None:
        """Before a file's first batch (targets that stage rows outside the transaction)."""
        return None

    def another(self) -> Target | None:
        """A second connection to the same warehouse, to land another file at the same time
        (closed by the caller); None where files land one at a time."""
        return None

    def no_more_files(self) -> None:
        """This connection found no file left to land: the others may still be landing theirs."""
        return None

    def finish_batches(self, entity: Entity, load_id: int, uri: str) -> int:
        """After a file's last batch, inside its transaction: move staged rows into the raw tables.

        Returns the valid rows counted here rather than by `validate` (targets that
        validate as they land); the pipeline checks their sum against the database.
        """
        return 0

    # -- shared SQL --------------------------------------------------------
    def ensure_schema(self) -> None:
        for statement in schema_ddl():
            self.execute(statement)
        self.relax_legacy_lineage()
        self.commit()

    def relax_legacy_lineage(self) -> None:
        """Allow NULL in lineage columns an older carestar wrote on every row (the ledger has them now)."""
        entities = ", ".join(f"'{e}'" for e in ENTITIES)
        columns = ", ".join(f"'{c}'" for c in LEGACY_LINEAGE_COLUMNS)
        found = self.fetchall(
            "select table_name, column_name from information_schema.columns"
            f" where table_schema = '{SCHEMA}' and table_name in ({entities}) and column_name in ({columns})"
            " and is_nullable = 'NO'"
        )
        for table, column in found:
            self.execute(self.drop_not_null_sql(str(table), str(column)))

    def drop_not_null_sql(self, table: str, column: str) -> str:
        if table not in ENTITIES or column not in LEGACY_LINEAGE_COLUMNS:  # names from the catalog: checked
            raise ValueError(f"not a legacy lineage column: {table}.{column}")
        return f"alter table {self.raw}.{table} alter column {column} drop not null"

    def versions(self) -> tuple[set[tuple[str, str, int]], dict[str, int]]:
        """(file versions already handled, landed load id per uri).

        A version is handled once it is landed or rejected; a failed one is
        tried again. At most one version of a uri is landed at a time.
        """
        rows = self.fetchall(
            f"select source_uri, etag, size_bytes, state, load_id from {self.raw}.load_ledger"
            " where state in ('landed', 'rejected')"
        )
        handled = {(uri, etag, int(size)) for uri, etag, size, _, _ in rows}
        landed = {uri: int(load_id) for uri, _, _, state, load_id in rows if state == "landed"}
        return handled, landed

    def next_load_id(self) -> int:
        return int(self.fetchall(f"select nextval('{self.raw}.load_id_seq')")[0][0])

    def land_row_rejects(self, entity: Entity, load_id: int, uri: str, rejects: list[RowReject]) -> None:
        if not rejects:
            return
        self._insert_row_rejects(
            reject_records(
                entity,
                load_id,
                uri,
                pa.array([r.line for r in rejects], pa.int64()),
                pa.array([r.column for r in rejects], pa.string()),
                pa.array([r.rule.value for r in rejects], pa.string()),
            )
        )

    def counts_in_database(self, entity: Entity, load_id: int) -> tuple[int, int, dict[str, int]]:
        """(rows landed, distinct rejected lines, broken rules by code) as the database has them."""
        landed = self.fetchall(f"select count(*) from {self.raw}.{entity.name} where _load_id = ?", [load_id])[0][0]
        rejected = self.fetchall(
            f"select count(distinct line) from {self.raw}.rejected_rows where load_id = ?", [load_id]
        )[0][0]
        rules = self.fetchall(
            f"select rule_code, count(*) from {self.raw}.rejected_rows where load_id = ? group by rule_code", [load_id]
        )
        return int(landed), int(rejected), {k: int(v) for k, v in rules}

    def supersede(self, entity: Entity, old_load_id: int, new_load_id: int) -> None:
        """Remove an earlier version's rows; its ledger row says what replaced it."""
        self.execute(f"delete from {self.raw}.{entity.name} where _load_id = ?", [old_load_id])
        self.execute(f"delete from {self.raw}.rejected_rows where load_id = ?", [old_load_id])
        self.execute(
            f"update {self.raw}.load_ledger set state = 'superseded', superseded_by = ? where load_id = ?",
            [new_load_id, old_load_id],
        )

    # -- claims: two loaders on one prefix never land a file version twice --
    # Targets that enforce unique indexes claim through one (PostgreSQL). Targets that
    # cannot (Redshift) or whose index keys are too narrow for a uri (SQL Server) set
    # `claim_lock_sql`: the claim then checks and inserts while holding a table lock.
    claim_lock_sql: str | None = None

    def claim(self, result: FileResult) -> bool:
        """Insert the version's ledger row as `claimed`, committed at once; False if it is taken."""
        marks = ", ".join("?" for _ in LEDGER_COLUMNS)
        insert = f"insert into {self.raw}.load_ledger ({', '.join(LEDGER_COLUMNS)}) values ({marks})"
        if self.claim_lock_sql is not None:
            self.begin()
            self.execute(self.claim_lock_sql)
            taken = self.fetchall(
                f"select count(*) from {self.raw}.load_ledger"
                " where source_uri = ? and etag = ? and size_bytes = ? and state in ('claimed', 'landed', 'rejected')",
                [result.source_uri, result.etag, result.size_bytes],
            )[0][0]
            if taken:
                self.rollback()
                return False
            result.load_id = self.claimed_load_id(result.load_id)
            self.execute(insert, list(result.ledger_values()))
            self.commit()
            return True
        try:
            self.begin()
            self.execute(insert, list(result.ledger_values()))
            self.commit()
        except self.unique_violation:
            self.rollback()
            return False
        return True

    def claimed_load_id(self, provisional: int) -> int:
        """The load id a claim takes, asked while the claim lock is held."""
        return provisional

    def finish_ledger(self, result: FileResult) -> None:
        """Turn the claimed ledger row into the version's outcome (inside the file's transaction)."""
        values = dict(zip(LEDGER_COLUMNS, result.ledger_values(), strict=True))
        for key in ("load_id", "run_id", "source_uri", "etag", "size_bytes", "entity", "started_at", "superseded_by"):
            values.pop(key)
        sets = ", ".join(f"{k} = ?" for k in values)
        self.execute(f"update {self.raw}.load_ledger set {sets} where load_id = ?", [*values.values(), result.load_id])

    @abstractmethod
    def release_stale_claims(self) -> None:
        """Mark claims of loaders that died as failed, so their files are tried again."""

    # The error a claim raises when another loader holds the version; targets with a
    # unique index on claims set it (PostgreSQL). DuckDB has one writer: never raised.
    unique_violation: type[Exception] = type("NoConcurrentClaims", (Exception,), {})

    def write_run(self, values: dict[str, object]) -> None:
        cols = [c for c in RUN_COLUMNS if c in values]
        self.begin()
        self.execute(f"delete from {self.raw}.load_runs where run_id = ?", [values["run_id"]])
        self.execute(
            f"insert into {self.raw}.load_runs ({', '.join(cols)}) values ({', '.join('?' for _ in cols)})",
            [values[c] for c in cols],
        )
        self.commit()


def _open_waiting_for_lock(path: str, timeout_s: float) -> duckdb.DuckDBPyConnection:
    """Open a DuckDB file, waiting while another process (a concurrent loader, dbt) holds its lock."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return _validation_duckdb(path)
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower() or time.monotonic() > deadline:
                raise
            time.sleep(0.5)


class DuckDBTarget(Target):
    """The embedded default: the file named by CARESTAR_DUCKDB_PATH."""

    name = "duckdb"

    def __init__(
        self,
        path: str | None = None,
        *,
        _shared: duckdb.DuckDBPyConnection | None = None,
        _restores_threads: bool = False,
    ) -> None:
        self.path = path or duckdb_path()
        # Whether this connection holds the database to one thread while files land side by
        # side (another()); it gives the cores back when it finds no file left, or closes.
        self._restores_threads = _restores_threads
        if _shared is not None:  # from another(): a second connection to the database already open
            self.con = _shared
            self.con.execute("set timezone = 'UTC'")
        else:
            if self.path != ":memory:":
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            timeout_s = float(os.environ.get("CARESTAR_DUCKDB_LOCK_TIMEOUT", "600"))
            self.con = _open_waiting_for_lock(self.path, timeout_s)
        # Rows carry their line (_source_line); their order in the table means nothing, and
        # without keeping it DuckDB inserts on every core.
        self.con.execute("set preserve_insertion_order = false")
        self._in_transaction = False
        self._held: list[pa.Table] = []
        self._held_rows = 0
        self._valid_landed = 0
        self._broken: pa.Table | None = None

    def execute(self, sql: str, params: list | tuple = ()) -> None:
        self.con.execute(sql, list(params)).fetchall()

    def fetchall(self, sql: str, params: list | tuple = ()) -> list[tuple]:
        return self.con.execute(sql, list(params)).fetchall()

    def begin(self) -> None:
        self.con.execute("begin transaction")
        self._in_transaction = True

    def commit(self) -> None:
        if self._in_transaction:
            self.con.execute("commit")
            self._in_transaction = False

    def rollback(self) -> None:
        self._held, self._held_rows, self._broken = [], 0, None
        if self._in_transaction:
            self.con.execute("rollback")
            self._in_transaction = False

    def close(self) -> None:
        self.no_more_files()
        self.con.close()

    def no_more_files(self) -> None:
        # The files still landing are the last: their inserts may take every core again.
        if self._restores_threads:
            self._restores_threads = False
            self.con.execute("reset threads")

    @property
    def validation_connection(self) -> duckdb.DuckDBPyConnection:
        return self.con  # validation runs inside the insert (_insert_held)

    def another(self) -> DuckDBTarget:
        # A second connection to the same database (one process holds the file): a transaction
        # of its own, and DuckDB's appends from two transactions never conflict. One file's
        # reading then overlaps the other's insert and commit.
        #
        # While files land side by side, each insert runs on one thread: the cores are used
        # by the files. An insert on several threads leaves a partly filled row group per
        # thread at its end, and closing the database then merges and recompresses them: at
        # 10M encounters that took 1.5-2.4 s, against 0.03 s after one-thread inserts. The
        # first connection to find no file left gives the cores back to the last file's
        # remaining inserts (no_more_files): 10M, load and close, 6.11 against 6.63 s.
        another = DuckDBTarget(self.path, _shared=self.con.cursor(), _restores_threads=True)
        self.con.execute("set threads = 1")
        self._restores_threads = True
        return another

    def release_stale_claims(self) -> None:
        # One process at a time holds a DuckDB file: any claim found at start is a dead loader's.
        self.execute(
            f"update {self.raw}.load_ledger set state = 'failed', error_code = 'claim_abandoned'"
            " where state = 'claimed'"
        )

    # A file's batches are held as read (text columns) until HELD_ROWS rows, then one
    # statement validates them and inserts the valid rows straight into the raw table: no
    # validated copy is made, and the insert fills a few row groups at once (on every core
    # for a lone file, on one beside another file: another()). Only a chunk that had broken
    # rows is validated a second time, for its rejected-row records. Reading runs ahead in
    # its own thread meanwhile.
    def start_file(self, entity: Entity, load_id: int) -> None:
        self._held, self._held_rows, self._valid_landed, self._broken = [], 0, 0, None

    def validate(self, entity: Entity, table: pa.Table, detached: pa.Table | None = None) -> int:
        self._held.append(with_shapes(entity, table))
        self._held_rows += table.num_rows
        return 0  # valid rows are counted as they land (finish_batches)

    def land_valid(self, entity: Entity, load_id: int) -> None:
        if self._held_rows >= HELD_ROWS:
            self._insert_held(entity, load_id)

    def land_value_rejects(self, entity: Entity, load_id: int, uri: str) -> None:
        if self._broken is None:
            return
        _carestar_broken = self._broken
        self._broken = None
        present = {n for n in _carestar_broken.column_names if n != "_line"}
        checked = f"({validation_sql(entity, '_carestar_broken', present)}) as checked"
        self.con.execute(
            f"insert into {self.raw}.rejected_rows ({REJECT_COLUMNS})"
            f" select ?, ?, ?, line, column_name, rule_code from ({rejects_sql(checked)}) as r",
            [load_id, entity.name, uri],
        ).fetchall()

    def finish_batches(self, entity: Entity, load_id: int, uri: str) -> int:
        self._insert_held(entity, load_id)
        self.land_value_rejects(entity, load_id, uri)
        return self._valid_landed

    def _insert_held(self, entity: Entity, load_id: int) -> None:
        if not self._held:
            return
        cols = ", ".join(entity.column_names)
        _carestar_held = pa.concat_tables(self._held)  # chunks side by side, not copied
        self._held, self._held_rows = [], 0
        present = {n for n in _carestar_held.column_names if n != "_line"}
        checked = f"({validation_sql(entity, '_carestar_held', present)}) as checked"
        (landed,) = self.con.execute(
            f"insert into {self.raw}.{entity.name} ({cols}, _load_id, _source_line)"
            f" select {cols}, ?, _line from ({valid_rows_sql(entity, checked)}) as v",
            [load_id],
        ).fetchall()[0]
        self._valid_landed += int(landed)
        if landed < _carestar_held.num_rows:
            self._broken = _carestar_held

    def _insert_row_rejects(self, table: pa.Table) -> None:
        _carestar_row_rejects = table
        self.con.execute(
            f"insert into {self.raw}.rejected_rows ({REJECT_COLUMNS})"
            f" select {REJECT_COLUMNS} from _carestar_row_rejects"
        ).fetchall()


class TargetConfigError(Exception):
    """A target's connection settings are missing or wrong (a usage error, exit 2)."""


def required_env(*names: str) -> dict[str, str]:
    """The named environment variables; a clear error naming every one that is missing."""
    missing = [n for n in names if not os.environ.get(n)]
    if missing:
        raise TargetConfigError(f"set {', '.join(missing)} (environment or --secret-id)")
    return {n: os.environ[n] for n in names}


class RemoteTarget(Target):
    """A server reached through a DB-API connection (autocommit off).

    Batches are validated in an in-memory DuckDB; each target moves the valid
    rows to the server in bulk its own way. The shared ledger SQL is written
    with `?` placeholders, turned into the driver's `marker`.
    """

    marker = "?"

    def __init__(self, conn) -> None:
        self.conn = conn
        self._duck = _validation_duckdb()
        self._spool = Path(tempfile.mkdtemp(prefix=f"carestar-{self.name}-"))

    def _sql(self, sql: str) -> str:
        return sql if self.marker == "?" else sql.replace("?", self.marker)

    def execute(self, sql: str, params: list | tuple = ()) -> None:
        cur = self.conn.cursor()
        try:
            cur.execute(self._sql(sql), list(params)) if params else cur.execute(self._sql(sql))
        finally:
            cur.close()

    def fetchall(self, sql: str, params: list | tuple = ()) -> list[tuple]:
        cur = self.conn.cursor()
        try:
            cur.execute(self._sql(sql), list(params)) if params else cur.execute(self._sql(sql))
            return [tuple(row) for row in cur.fetchall()]
        finally:
            cur.close()

    def begin(self) -> None:
        """DB-API drivers open a transaction with the first statement."""

    def commit(self) -> None:
        self.conn.commit()

    def rollback(self) -> None:
        self.conn.rollback()

    def close(self) -> None:
        """Close both connections and remove the spool with any file left in it; safe to call twice."""
        self.conn.close()
        self._duck.close()
        shutil.rmtree(self._spool, ignore_errors=True)

    @property
    def validation_connection(self) -> duckdb.DuckDBPyConnection:
        return self._duck

    def _out_table(self, select_sql: str, params: list) -> int:
        """Materialize `select_sql` as DuckDB temp table _carestar_out; its row count."""
        self._duck.execute(f"create or replace temp table _carestar_out as {select_sql}", params)
        return int(self._duck.execute("select count(*) from _carestar_out").fetchall()[0][0])


@dataclass
class CopyReady:
    """One batch made ready in the reader's thread: valid rows as a binary COPY stream, broken rules as Arrow."""

    valid_rows: int
    valid_copy: bytes | None
    rejects: pa.Table  # line, column_name, rule_code


_NO_REJECTS = pa.table(
    {"line": pa.array([], pa.int64()), "column_name": pa.array([], pa.string()), "rule_code": pa.array([], pa.string())}
)

# Binary COPY type of each contract kind (carestar.pgbinary writes them).
PG_BINARY_TYPES = {
    Kind.ID: "text",
    Kind.TEXT: "text",
    Kind.ENUM: "text",
    Kind.DATE: "date",
    Kind.TIMESTAMP: "timestamp",
    Kind.MONEY: "numeric",
    Kind.INT: "int4",
    Kind.BOOL: "bool",
}


def _csv(rows: pa.Table) -> pa.Buffer | None:
    """Rows as headerless CSV; strings always quoted, so "" stays empty text and an empty field is NULL."""
    if not rows.num_rows:
        return None
    sink = pa.BufferOutputStream()
    pacsv.write_csv(rows, sink, pacsv.WriteOptions(include_header=False, quoting_style="needed"))
    return sink.getvalue()


class PostgresTarget(RemoteTarget):
    """PostgreSQL through the libpq variables PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE.

    One thread reads; a second validates each batch in an in-memory DuckDB and writes
    its valid rows in PostgreSQL's binary COPY format (carestar.pgbinary: the server
    parses it with a third less work than CSV); the main thread only streams that
    into `COPY ... FROM STDIN`, so the server takes in one batch while the next ones
    are prepared.
    """

    name = "postgres"
    marker = "%s"
    validates_concurrently = True
    reads_ahead = True

    def __init__(self, conninfo: str = "") -> None:
        import psycopg

        super().__init__(psycopg.connect(conninfo, autocommit=False))
        self._conninfo = conninfo
        self.unique_violation = psycopg.errors.UniqueViolation
        self._val = self._duck.cursor()  # validation, in its own thread
        self._val.execute("set timezone = 'UTC'")
        self._file_load_id: int | None = None
        self._ready: CopyReady | None = None

    @property
    def validation_connection(self) -> duckdb.DuckDBPyConnection:
        return self._val

    def another(self) -> PostgresTarget:
        return type(self)(self._conninfo)

    def close(self) -> None:
        self._val.close()
        super().close()

    def ensure_schema(self) -> None:
        # CREATE ... IF NOT EXISTS races between concurrent loaders: serialize it.
        self.fetchall("select pg_advisory_xact_lock(hashtext('carestar.raw.schema'))")
        for statement in schema_ddl():
            self.execute(statement)
        # Only the missing indexes: CREATE INDEX locks its table (SHARE) even when the index
        # exists, until this transaction ends, and a loader that started a moment earlier may be
        # copying into one table while it waits on another: two loaders deadlocked so.
        existing = {
            str(name) for (name,) in self.fetchall(f"select indexname from pg_indexes where schemaname = '{SCHEMA}'")
        }
        indexes = {
            # one claimed, landed or refused row per file version, whichever loader gets there first
            "load_ledger_one_version": f"create unique index if not exists load_ledger_one_version"
            f" on {self.raw}.load_ledger (source_uri, etag, size_bytes)"
            " where state in ('claimed', 'landed', 'rejected')",
        }
        # Load ids grow with the table, so a block-range index finds one load's rows (the count
        # check after each file, a superseded file's delete, dbt's incremental reads) for almost
        # nothing on insert.
        for table, column in [*((entity, "_load_id") for entity in ENTITIES), ("rejected_rows", "load_id")]:
            indexes[f"{table}_load_id"] = (
                f"create index if not exists {table}_load_id on {self.raw}.{table} using brin ({column})"
                " with (autosummarize = on)"
            )
        for name, statement in indexes.items():
            if name not in existing:
                self.execute(statement)
        self.relax_legacy_lineage()
        self.commit()

    def release_stale_claims(self, lease_minutes: int = 120) -> None:
        """Claims older than the lease belong to loaders that died: their files are tried again."""
        self.execute(
            f"update {self.raw}.load_ledger set state = 'failed', error_code = 'claim_expired'"
            " where state = 'claimed'"
            f" and started_at < now() at time zone 'utc' - interval '{int(lease_minutes)} minutes'"
        )
        self.commit()

    def start_file(self, entity: Entity, load_id: int) -> None:
        self._file_load_id = load_id  # written into each row by the validating thread

    def validate_detached(self, entity: Entity, table: pa.Table) -> CopyReady:  # type: ignore[override]
        validated = validated_arrow(self._val, entity, table)
        ok = pc.equal(pc.list_value_length(validated.column("_errors")), 0)
        valid_rows = int(pc.sum(ok).as_py() or 0)
        if valid_rows == validated.num_rows:  # the common case: nothing to filter or report
            valid, rejects = validated, _NO_REJECTS
        else:
            valid = validated.filter(ok)
            _carestar_validated = validated  # found by DuckDB through its name (a replacement scan)
            rejects = self._val.sql(
                f"select line, column_name, rule_code from ({rejects_sql('_carestar_validated')}) as r"
            ).to_arrow_table()
        load_ids = pa.array(np.full(valid.num_rows, self._file_load_id, dtype=np.int64))
        rows = valid.select(entity.column_names).append_column("_load_id", load_ids)
        rows = rows.append_column("_source_line", valid.column("_line"))
        types = [PG_BINARY_TYPES[c.kind] for c in entity.columns] + ["int8", "int8"]
        return CopyReady(valid_rows, copy_rows(rows, types), rejects)

    def validate(self, entity: Entity, table: pa.Table, detached: CopyReady | None = None) -> int:  # type: ignore[override]
        self._ready = detached if detached is not None else self.validate_detached(entity, table)
        return self._ready.valid_rows

    def _copy(self, table: str, columns: str, data: pa.Buffer | bytes | None, fmt: str = "csv") -> None:
        if data is None:
            return
        with self.conn.cursor() as cur, cur.copy(f"copy {table} ({columns}) from stdin (format {fmt})") as copy:
            copy.write(memoryview(data))

    def land_valid(self, entity: Entity, load_id: int) -> None:
        assert self._ready is not None
        cols = ", ".join(entity.column_names)
        self._copy(f"{self.raw}.{entity.name}", f"{cols}, _load_id, _source_line", self._ready.valid_copy, "binary")

    def land_value_rejects(self, entity: Entity, load_id: int, uri: str) -> None:
        assert self._ready is not None
        rejects = self._ready.rejects
        self._ready = None
        if rejects.num_rows:
            self._insert_row_rejects(
                reject_records(
                    entity,
                    load_id,
                    uri,
                    rejects.column("line"),
                    rejects.column("column_name"),
                    rejects.column("rule_code"),
                )
            )

    def _insert_row_rejects(self, table: pa.Table) -> None:
        self._copy(f"{self.raw}.rejected_rows", REJECT_COLUMNS, _csv(table))


def open_target(name: str) -> Target:
    if name == "duckdb":
        return DuckDBTarget()
    if name == "postgres":
        return PostgresTarget()
    if name == "sqlserver":
        from carestar.land_sqlserver import SqlServerTarget

        return SqlServerTarget.from_env()
    if name == "redshift":
        from carestar.land_redshift import RedshiftTarget

        return RedshiftTarget.from_env()
    raise ValueError(f"target {name!r} is not available; supported: {', '.join(TARGETS)}")
