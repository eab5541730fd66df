"""Stand-ins for SQL Server and Redshift, which cannot run here.

Each is a DB-API connection backed by a DuckDB database. It records every
statement exactly as the target sent it (for sqlfluff and for checking
transaction boundaries), then runs a DuckDB rendering of it, so the rows,
counts and ledger a real server would hold can be checked the same way as on
DuckDB and PostgreSQL. The renderings cover only the statements the targets
send; anything else fails loudly.

Bulk copy (SQL Server) and COPY (Redshift) run the way the servers run them:
the bulk copy on a second connection, which sees only committed tables; COPY
reads the manifest and the Parquet parts from S3 and insists their columns
match the table's, by position, as Redshift does.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

Event = tuple  # ("sql", text, params) | ("commit",) | ("rollback",) | ("bulk", table, rows)


class EmulatedServer:
    """A DuckDB database standing in for the server, and the log of what reached it."""

    def __init__(self, path: Path) -> None:
        self.db = duckdb.connect(str(path))
        self.db.execute("set timezone = 'UTC'")
        self.events: list[Event] = []

    def statements(self) -> list[tuple[str, list]]:
        return [(e[1], e[2]) for e in self.events if e[0] == "sql"]

    def query(self, sql: str) -> list[tuple]:
        return self.db.cursor().execute(sql).fetchall()


class _Cursor:
    def __init__(self, conn: EmulatedConnection) -> None:
        self.conn = conn
        self._rows: list[tuple] = []

    def execute(self, sql: str, params=None) -> None:
        self._rows = self.conn._run(sql, list(params or []))

    def fetchall(self) -> list[tuple]:
        rows, self._rows = self._rows, []
        return rows

    def close(self) -> None:
        pass


class EmulatedConnection:
    """DB-API connection with autocommit off: a transaction opens with the first statement."""

    def __init__(self, server: EmulatedServer, render) -> None:
        self.server = server
        self.render = render
        self.con = server.db.cursor()
        self.in_transaction = False
        self.fail_on: re.Pattern | None = None  # a statement matching it raises (fault injection)

    def cursor(self) -> _Cursor:
        return _Cursor(self)

    def _run(self, sql: str, params: list) -> list[tuple]:
        self.server.events.append(("sql", sql, params))
        if self.fail_on is not None and self.fail_on.search(sql):
            raise RuntimeError("injected failure")
        if not self.in_transaction:
            self.con.execute("begin transaction")
            self.in_transaction = True
        rendered = self.render(self, sql)
        if rendered is None:
            return []
        return self.con.execute(rendered, params).fetchall()

    def commit(self) -> None:
        self.server.events.append(("commit",))
        if self.in_transaction:
            self.con.execute("commit")
            self.in_transaction = False

    def rollback(self) -> None:
        self.server.events.append(("rollback",))
        if self.in_transaction:
            self.con.execute("rollback")
            self.in_transaction = False

    def close(self) -> None:
        self.con.close()


# -- SQL Server ----------------------------------------------------------------
_TSQL_REWRITES = [
    (
        re.compile(r"^if schema_id\(N'(\w+)'\) is null exec \(N'create schema \w+'\)$"),
        r"create schema if not exists \1",
    ),
    (
        re.compile(r"^if object_id\(N'([\w.]+)', N'SO'\) is null create sequence ([\w.]+) as bigint (.*)$"),
        r"create sequence if not exists \2 \3",
    ),
    (re.compile(r"^if object_id\(N'[\w.]+', N'U'\) is null create table"), "create table if not exists"),
    (re.compile(r"^if object_id\(N'[\w.]+', N'U'\) is not null drop table"), "drop table if exists"),
    (re.compile(r"next value for ([\w.]+)"), r"nextval('\1')"),
    (
        re.compile(r"dateadd\(minute, (-\d+), sysutcdatetime\(\)\)"),
        r"(cast(now() as timestamp) + interval (\1) minute)",
    ),
    (re.compile(r"\bnvarchar\("), "varchar("),
    (re.compile(r"\bdatetime2\(6\)"), "timestamp"),
    (re.compile(r"\bbit\b"), "boolean"),
]


def render_tsql(conn: EmulatedConnection, sql: str) -> str | None:
    from carestar.land_sqlserver import STAGING_TABLES_SQL

    if sql.startswith("exec sp_getapplock "):
        return None  # one loader per test process: the lock is never contended here
    if sql == STAGING_TABLES_SQL:
        return (
            "select table_name from information_schema.tables"
            " where table_schema = 'raw' and table_name like '\\_carestar\\_%' escape '\\'"
        )
    for pattern, replacement in _TSQL_REWRITES:
        sql = pattern.sub(replacement, sql)
    return sql


def sqlserver_connection(server: EmulatedServer) -> EmulatedConnection:
    return EmulatedConnection(server, render_tsql)


def bulk_copier(server: EmulatedServer, fail_at: int | None = None):
    """The driver's bulk copy: its own connection, rows by column position, committed as it goes."""
    calls = {"n": 0}

    def bulk_copy(table: str, batch: pa.RecordBatch) -> None:
        calls["n"] += 1
        server.events.append(("bulk", table, batch.num_rows))
        if fail_at is not None and calls["n"] == fail_at:
            raise ConnectionError("injected bulk copy failure")
        con = server.db.cursor()
        con.register("_bulk", pa.Table.from_batches([batch]))
        con.execute(f"insert into {table} select * from _bulk")
        con.close()

    return bulk_copy


# -- Redshift ------------------------------------------------------------------
_COPY = re.compile(
    r"""^copy "raw"\.(\w+) from 's3://([^/']+)/([^']+\.manifest)' iam_role '[^']+' format as parquet manifest$"""
)


def redshift_renderer(s3, spool: Path, fail_copy_of: str | None = None):
    """Statements as the emulated Redshift runs them; COPY reads its Parquet parts through `spool`."""
    spool.mkdir(parents=True, exist_ok=True)

    def render(conn: EmulatedConnection, sql: str) -> str | None:
        if sql.startswith('lock "raw".'):
            return None
        if match := _COPY.match(sql):
            table, bucket, key = match.groups()
            if table == fail_copy_of:
                raise RuntimeError("injected COPY failure")
            _copy(conn, table, bucket, key)
            return None
        sql = sql.replace("%s", "?")
        return re.sub(
            r"dateadd\(minute, (-\d+), getdate\(\)\)", r"(cast(now() as timestamp) + interval (\1) minute)", sql
        )

    def _copy(conn: EmulatedConnection, table: str, bucket: str, key: str) -> None:
        manifest = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
        columns = [r[0] for r in conn.con.execute(f"select * from raw.{table} limit 0").description]
        files = []
        for i, entry in enumerate(manifest["entries"]):
            part_bucket, part_key = entry["url"].removeprefix("s3://").split("/", 1)
            body = s3.get_object(Bucket=part_bucket, Key=part_key)["Body"].read()
            assert len(body) == entry["meta"]["content_length"], "manifest length differs from the object"
            path = spool / f"{table}-{i}.parquet"
            path.write_bytes(body)
            names = pq.read_schema(path).names
            assert names == columns, f"Parquet columns {names} are not {table}'s {columns}"
            files.append(str(path))
        conn.con.execute(f"insert into raw.{table} select * from read_parquet({files!r})")

    return render
