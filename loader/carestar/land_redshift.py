"""Redshift target: validated Parquet to an S3 staging prefix, one COPY per table from a manifest.

Each batch's valid rows (with their lineage columns, in the raw table's column
order) and its rejected-row records are written by DuckDB as Parquet and
uploaded under `<CARESTAR_REDSHIFT_STAGING>/<load_id>/`. After the last batch,
inside the file's transaction, a manifest naming exactly those parts is
uploaded and one `COPY ... FORMAT AS PARQUET MANIFEST` per table loads them;
the ledger row commits with them. The staging objects are deleted after the
commit or rollback, and a later run deletes any a dead loader left behind.

Redshift has neither sequences nor enforced unique keys: a claim takes
`LOCK raw.load_ledger` (held to the end of its transaction), checks the
version is free and takes max(load_id) + 1 under that lock.

Connection settings: REDSHIFT_HOST, REDSHIFT_PORT (default 5439),
REDSHIFT_DATABASE, REDSHIFT_USER, REDSHIFT_PASSWORD (as profiles/profiles.yml),
plus CARESTAR_REDSHIFT_STAGING (s3://bucket/prefix the cluster can read) and
CARESTAR_REDSHIFT_IAM_ROLE (the role ARN COPY assumes).
"""

from __future__ import annotations

import json
import os
import re

import pyarrow as pa

from carestar.contract import Entity
from carestar.land import REJECT_COLUMNS, RemoteTarget, TargetConfigError, required_env
from carestar.ledger import SCHEMA, create_table_sql, schema_tables
from carestar.validate import rejects_sql, valid_rows_sql

_STAGING_URL = re.compile(r"^s3://([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:/([A-Za-z0-9._=/-]*))?$")
_IAM_ROLE = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[A-Za-z0-9+=,.@_/-]{1,512}$")
REDSHIFT_MAX_VARCHAR = 65535
RAW = f'"{SCHEMA}"'  # RAW is a reserved word in Redshift


def redshift_type(declaration: str) -> str:
    """Redshift's varchar(n) counts bytes: room for n UTF-8 characters of up to 4 bytes."""
    return re.sub(
        r"\bvarchar\((\d+)\)", lambda m: f"varchar({min(4 * int(m.group(1)), REDSHIFT_MAX_VARCHAR)})", declaration
    )


def schema_ddl_redshift() -> list[str]:
    statements = [f"create schema if not exists {RAW}"]
    for table, columns in schema_tables().items():
        statements.append(create_table_sql(table, {name: redshift_type(d) for name, d in columns.items()}, RAW))
    return statements


def parse_staging(url: str) -> tuple[str, str]:
    """(bucket, prefix) of the staging url; it is written into COPY statements, so checked strictly."""
    match = _STAGING_URL.match(url.rstrip("/"))
    if not match:
        raise TargetConfigError("CARESTAR_REDSHIFT_STAGING must look like s3://bucket/prefix")
    return match.group(1), (match.group(2) or "").strip("/")


def check_iam_role(role: str) -> str:
    if not _IAM_ROLE.match(role):
        raise TargetConfigError(
            "CARESTAR_REDSHIFT_IAM_ROLE must be an IAM role ARN (arn:aws:iam::<account>:role/<name>)"
        )
    return role


class RedshiftTarget(RemoteTarget):
    name = "redshift"
    marker = "%s"
    raw = RAW
    claim_lock_sql = f"lock {RAW}.load_ledger"

    def __init__(self, conn, staging: str, iam_role: str, s3=None) -> None:
        self.bucket, self.prefix = parse_staging(staging)
        self.iam_role = check_iam_role(iam_role)
        super().__init__(conn)
        if s3 is None:
            from carestar.discover import s3_client

            s3 = s3_client()
        self.s3 = s3
        self._parts: dict[str, list[tuple[str, int]]] = {}  # raw table -> (key, bytes) of this file
        self._uploaded: list[str] = []  # every staging key of the file in progress
        self._part_no = 0

    @classmethod
    def from_env(cls) -> RedshiftTarget:
        import redshift_connector

        env = required_env(
            "REDSHIFT_HOST",
            "REDSHIFT_DATABASE",
            "REDSHIFT_USER",
            "REDSHIFT_PASSWORD",
            "CARESTAR_REDSHIFT_STAGING",
            "CARESTAR_REDSHIFT_IAM_ROLE",
        )
        parse_staging(env["CARESTAR_REDSHIFT_STAGING"])  # fail before connecting
        check_iam_role(env["CARESTAR_REDSHIFT_IAM_ROLE"])
        conn = redshift_connector.connect(
            host=env["REDSHIFT_HOST"],
            port=int(os.environ.get("REDSHIFT_PORT") or 5439),
            database=env["REDSHIFT_DATABASE"],
            user=env["REDSHIFT_USER"],
            password=env["REDSHIFT_PASSWORD"],
        )
        conn.autocommit = False
        return cls(conn, env["CARESTAR_REDSHIFT_STAGING"], env["CARESTAR_REDSHIFT_IAM_ROLE"])

    def _key(self, *parts: str) -> str:
        return "/".join(p for p in (self.prefix, *parts) if p)

    # -- schema, ids, claims -------------------------------------------------
    def ensure_schema(self) -> None:
        for statement in schema_ddl_redshift():
            self.execute(statement)
        self.commit()

    def next_load_id(self) -> int:
        """A provisional id (dry runs keep it); a claim takes the real one under its lock."""
        return int(self.fetchall(f"select coalesce(max(load_id), 0) + 1 from {RAW}.load_ledger")[0][0])

    def claimed_load_id(self, provisional: int) -> int:
        return self.next_load_id()

    def release_stale_claims(self, lease_minutes: int = 120) -> None:
        """Fail dead loaders' claims and delete staging objects no live claim owns."""
        self.execute(
            f"update {RAW}.load_ledger set state = 'failed', error_code = 'claim_expired'"
            f" where state = 'claimed' and started_at < dateadd(minute, -{int(lease_minutes)}, getdate())"
        )
        self.commit()
        claimed = {str(r[0]) for r in self.fetchall(f"select load_id from {RAW}.load_ledger where state = 'claimed'")}
        base = self._key("")
        stale = []
        for page in self.s3.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=f"{base}/" if base else ""
        ):
            for obj in page.get("Contents", []):
                load_dir = obj["Key"][len(base) :].lstrip("/").split("/", 1)[0]
                if load_dir.isdigit() and load_dir not in claimed:
                    stale.append(obj["Key"])
        self._delete(stale)

    # -- one file ------------------------------------------------------------
    def start_file(self, entity: Entity, load_id: int) -> None:
        self._parts, self._uploaded, self._part_no = {}, [], 0

    def _stage(self, table: str, load_id: int, select_sql: str, params: list) -> None:
        """Write `select_sql` (columns in `table`'s order) as one Parquet part in the staging prefix."""
        if not self._out_table(select_sql, params):
            return
        self._part_no += 1
        spool = self._spool / "part.parquet"
        self._duck.execute(f"copy _carestar_out to '{spool}' (format parquet, compression zstd)")
        key = self._key(str(int(load_id)), f"{table}-{self._part_no:05d}.parquet")
        self._uploaded.append(key)
        self.s3.upload_file(str(spool), self.bucket, key)
        self._parts.setdefault(table, []).append((key, spool.stat().st_size))
        spool.unlink()

    def land_valid(self, entity: Entity, load_id: int) -> None:
        cols = ", ".join(entity.column_names)
        self._stage(
            entity.name,
            load_id,
            f"select {cols}, cast(? as bigint) as _load_id, _line as _source_line from ({valid_rows_sql(entity)}) as v",
            [load_id],
        )

    def land_value_rejects(self, entity: Entity, load_id: int, uri: str) -> None:
        self._stage(
            "rejected_rows",
            load_id,
            "select cast(? as bigint) as load_id, cast(? as varchar) as entity, cast(? as varchar) as source_uri,"
            f" line, column_name, rule_code from ({rejects_sql()}) as r",
            [load_id, entity.name, uri],
        )

    def _insert_row_rejects(self, table: pa.Table) -> None:
        load_id = int(table.column("load_id")[0].as_py())
        self._duck.register("_carestar_row_rejects", table)
        try:
            self._stage("rejected_rows", load_id, f"select {REJECT_COLUMNS} from _carestar_row_rejects", [])
        finally:
            self._duck.unregister("_carestar_row_rejects")

    def copy_sql(self, table: str, manifest_key: str) -> str:
        return (
            f"copy {RAW}.{table} from 's3://{self.bucket}/{manifest_key}'"
            f" iam_role '{self.iam_role}' format as parquet manifest"
        )

    def finish_batches(self, entity: Entity, load_id: int, uri: str) -> int:
        for table, parts in self._parts.items():
            manifest = {
                "entries": [
                    {"url": f"s3://{self.bucket}/{key}", "mandatory": True, "meta": {"content_length": size}}
                    for key, size in parts
                ]
            }
            key = self._key(str(int(load_id)), f"{table}.manifest")
            self._uploaded.append(key)
            self.s3.put_object(Bucket=self.bucket, Key=key, Body=json.dumps(manifest).encode())
            self.execute(self.copy_sql(table, key))
        return 0  # valid rows were counted by validate

    def _delete(self, keys: list[str]) -> None:
        for start in range(0, len(keys), 1000):
            chunk = keys[start : start + 1000]
            self.s3.delete_objects(Bucket=self.bucket, Delete={"Objects": [{"Key": k} for k in chunk], "Quiet": True})

    def _clean_staging(self) -> None:
        uploaded, self._uploaded, self._parts = self._uploaded, [], {}
        self._delete(uploaded)

    def commit(self) -> None:
        self.conn.commit()
        self._clean_staging()

    def rollback(self) -> None:
        self.conn.rollback()
        self._clean_staging()
