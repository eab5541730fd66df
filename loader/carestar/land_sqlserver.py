"""SQL Server target: bulk copy into per-load staging tables, one set-based insert per file.

The driver's bulk copy (mssql-python's `bulkcopy_arrow`, Arrow buffers straight
into TDS) runs on a connection of its own, outside the file's transaction. So
each file version gets two staging tables, created and committed before its
first batch and named after its load id:

    raw._carestar_stage_<load_id>   the entity's columns + _source_line
    raw._carestar_reject_<load_id>  line, column_name, rule_code

Batches are bulk-copied into them in chunks of `batch_rows`. After the last
batch, inside the file's transaction, one `insert ... select` moves each into
its raw table (adding the lineage columns) and the staging tables are dropped;
the ledger row commits with them. A rollback drops them too, and a later run
drops any a dead loader left behind. Until that commit nothing of the file is
in the raw tables.

Connection settings: MSSQL_SERVER, MSSQL_DATABASE, MSSQL_USER, MSSQL_PASSWORD
(as profiles/profiles.yml); MSSQL_TRUST_CERT=yes trusts a self-signed certificate.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable

import pyarrow as pa

from carestar.contract import Entity
from carestar.land import REJECT_COLUMNS, RemoteTarget, required_env
from carestar.ledger import SCHEMA, schema_tables
from carestar.validate import rejects_sql, valid_rows_sql

BulkCopy = Callable[[str, pa.RecordBatch], None]

# Serializes schema creation and claims between concurrent loaders; released at commit or rollback.
APPLOCK = (
    "exec sp_getapplock @Resource = N'carestar.{resource}', @LockMode = N'Exclusive',"
    " @LockOwner = N'Transaction', @LockTimeout = 60000"
)
STAGING_TABLES_SQL = (
    "select t.name from sys.tables as t"
    f" where schema_name(t.schema_id) = N'{SCHEMA}' and t.name like N'[_]carestar[_]%'"
)
_STAGING_NAME = re.compile(r"^_carestar_(stage|reject)_(\d+)$")
REJECT_STAGE_COLUMNS = {"line": "bigint not null", "column_name": "varchar(64)", "rule_code": "varchar(40) not null"}


def tsql_type(declaration: str) -> str:
    """A portable column declaration in T-SQL: unicode text, datetime2, bit."""
    out = re.sub(r"\bvarchar\(", "nvarchar(", declaration)
    out = re.sub(r"\btimestamp\b", "datetime2(6)", out)
    out = re.sub(r"\bboolean\b", "bit", out)
    return re.sub(r"\binteger\b", "int", out)


def create_table_tsql(table: str, columns: dict[str, str]) -> str:
    body = ", ".join(f"{name} {tsql_type(decl)}" for name, decl in columns.items())
    return f"if object_id(N'{SCHEMA}.{table}', N'U') is null create table {SCHEMA}.{table} ({body})"


def schema_ddl_tsql() -> list[str]:
    """The raw schema in T-SQL, idempotent (SQL Server has no CREATE ... IF NOT EXISTS)."""
    return [
        APPLOCK.format(resource="raw.schema"),
        f"if schema_id(N'{SCHEMA}') is null exec (N'create schema {SCHEMA}')",
        f"if object_id(N'{SCHEMA}.load_id_seq', N'SO') is null"
        f" create sequence {SCHEMA}.load_id_seq as bigint start with 1 increment by 1",
        *(create_table_tsql(table, columns) for table, columns in schema_tables().items()),
    ]


def _braced(value: str) -> str:
    """An ODBC connection-string value: braces keep ; and = inside it literal."""
    return "{" + value.replace("}", "}}") + "}"


def connection_string(env: dict[str, str]) -> str:
    trust = "yes" if env.get("MSSQL_TRUST_CERT", "").lower() in ("1", "yes", "true") else "no"
    return (
        f"Server={_braced(env['MSSQL_SERVER'])};Database={_braced(env['MSSQL_DATABASE'])};"
        f"UID={_braced(env['MSSQL_USER'])};PWD={_braced(env['MSSQL_PASSWORD'])};"
        f"Encrypt=yes;TrustServerCertificate={trust}"
    )


class SqlServerTarget(RemoteTarget):
    name = "sqlserver"
    marker = "?"
    claim_lock_sql = APPLOCK.format(resource="raw.load_ledger")

    def __init__(self, conn, bulk_copy: BulkCopy | None = None, batch_rows: int = 100_000) -> None:
        super().__init__(conn)
        self.bulk_copy = bulk_copy or self._driver_bulk_copy
        self.batch_rows = batch_rows
        self._staged: list[str] = []  # staging tables of the file in progress
        self._drop_queued = False

    @classmethod
    def from_env(cls) -> SqlServerTarget:
        import mssql_python

        env = required_env("MSSQL_SERVER", "MSSQL_DATABASE", "MSSQL_USER", "MSSQL_PASSWORD")
        env["MSSQL_TRUST_CERT"] = os.environ.get("MSSQL_TRUST_CERT", "")
        return cls(mssql_python.connect(connection_string(env), autocommit=False))

    def _driver_bulk_copy(self, table: str, batch: pa.RecordBatch) -> None:
        cur = self.conn.cursor()
        try:
            cur.bulkcopy_arrow(table, batch, timeout=0, keep_nulls=True, table_lock=True)
        finally:
            cur.close()

    # -- schema, ids, claims -------------------------------------------------
    def ensure_schema(self) -> None:
        for statement in schema_ddl_tsql():
            self.execute(statement)
        self.commit()

    def next_load_id(self) -> int:
        return int(self.fetchall(f"select next value for {SCHEMA}.load_id_seq")[0][0])

    def release_stale_claims(self, lease_minutes: int = 120) -> None:
        """Fail dead loaders' claims and drop staging tables no live claim owns."""
        self.execute(
            f"update {SCHEMA}.load_ledger set state = 'failed', error_code = 'claim_expired'"
            f" where state = 'claimed' and started_at < dateadd(minute, -{int(lease_minutes)}, sysutcdatetime())"
        )
        claimed = {
            int(r[0]) for r in self.fetchall(f"select load_id from {SCHEMA}.load_ledger where state = 'claimed'")
        }
        for (table,) in self.fetchall(STAGING_TABLES_SQL):
            match = _STAGING_NAME.match(table)
            if match and int(match.group(2)) not in claimed:
                self.execute(f"drop table {SCHEMA}.{table}")
        self.commit()

    # -- one file ------------------------------------------------------------
    @staticmethod
    def staging_tables(load_id: int) -> tuple[str, str]:
        return f"{SCHEMA}._carestar_stage_{int(load_id)}", f"{SCHEMA}._carestar_reject_{int(load_id)}"

    def start_file(self, entity: Entity, load_id: int) -> None:
        stage, reject = self.staging_tables(load_id)
        columns = {c.name: c.sql_type for c in entity.columns} | {"_source_line": "bigint not null"}
        for table, cols in ((stage, columns), (reject, REJECT_STAGE_COLUMNS)):
            body = ", ".join(f"{name} {tsql_type(decl)}" for name, decl in cols.items())
            self.execute(f"create table {table} ({body})")
        self.conn.commit()  # the bulk-copy connection must see them
        self._staged = [stage, reject]
        self._drop_queued = False

    def _send(self, table: str) -> None:
        """Bulk-copy DuckDB's _carestar_out to `table` in chunks of batch_rows."""
        reader = self._duck.sql("select * from _carestar_out").to_arrow_reader(self.batch_rows)
        for batch in reader:
            if batch.num_rows:
                self.bulk_copy(table, batch)

    def land_valid(self, entity: Entity, load_id: int) -> None:
        cols = ", ".join(entity.column_names)
        if self._out_table(f"select {cols}, _line as _source_line from ({valid_rows_sql(entity)}) as v", []):
            self._send(self.staging_tables(load_id)[0])

    def land_value_rejects(self, entity: Entity, load_id: int, uri: str) -> None:
        if self._out_table(f"select line, column_name, rule_code from ({rejects_sql()}) as r", []):
            self._send(self.staging_tables(load_id)[1])

    def _insert_row_rejects(self, table: pa.Table) -> None:
        load_id = int(table.column("load_id")[0].as_py())
        self._duck.register("_carestar_row_rejects", table)
        try:
            if self._out_table("select line, column_name, rule_code from _carestar_row_rejects", []):
                self._send(self.staging_tables(load_id)[1])
        finally:
            self._duck.unregister("_carestar_row_rejects")

    def finish_batches(self, entity: Entity, load_id: int, uri: str) -> int:
        stage, reject = self.staging_tables(load_id)
        cols = ", ".join(entity.column_names)
        self.execute(
            f"insert into {SCHEMA}.{entity.name} ({cols}, _load_id, _source_line)"
            f" select {cols}, ?, _source_line from {stage}",
            [load_id],
        )
        self.execute(
            f"insert into {SCHEMA}.rejected_rows ({REJECT_COLUMNS})"
            f" select ?, ?, ?, line, column_name, rule_code from {reject}",
            [load_id, entity.name, uri],
        )
        for table in (stage, reject):
            self.execute(f"drop table {table}")
        self._drop_queued = True
        return 0  # valid rows were counted by validate

    def commit(self) -> None:
        self.conn.commit()
        if self._drop_queued:
            self._staged, self._drop_queued = [], False

    def rollback(self) -> None:
        """Roll back, then drop the file's staging tables (their creation was committed)."""
        self.conn.rollback()
        staged, self._staged, self._drop_queued = self._staged, [], False
        if staged:
            for table in staged:
                self.execute(f"if object_id(N'{table}', N'U') is not null drop table {table}")
            self.conn.commit()
