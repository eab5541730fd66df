"""SQL Server and Redshift targets, offline: the SQL they send, how they batch, where they commit.

Neither server can run here. Each target runs the real pipeline against a
recording stand-in (remote_emulator.py) backed by DuckDB, so the rows it
lands are compared with a DuckDB-target load of the same files, and every
statement it sent is parsed with sqlfluff in the server's dialect.
"""

from __future__ import annotations

import re

import boto3
import pytest
import sqlfluff
from conftest import write
from remote_emulator import (
    EmulatedServer,
    bulk_copier,
    redshift_renderer,
    sqlserver_connection,
)
from sqlfluff.api.simple import APIParsingError

from carestar.cli import main
from carestar.contract import ENTITIES
from carestar.land import TargetConfigError
from carestar.land_redshift import RedshiftTarget, parse_staging, redshift_type
from carestar.land_sqlserver import SqlServerTarget, connection_string, tsql_type
from carestar.pipeline import load

HEADER = "patient_id,first_name,date_of_birth,updated_at"
INJECTION = "R'); DROP TABLE raw.patients;--"
GOOD = "".join(f"P{i},Name{i},1980-01-01,\n" for i in range(4))
ROLE = "arn:aws:iam::123456789012:role/carestar-copy"


def _literal_params(sql: str, marker: str) -> str:
    return sql.replace(marker, "1")


def assert_parses(server: EmulatedServer, dialect: str, marker: str) -> int:
    failures, seen = [], set()
    for sql, _ in server.statements():
        text = _literal_params(sql, marker)
        if text in seen:
            continue
        seen.add(text)
        try:
            sqlfluff.parse(text, dialect=dialect)
        except APIParsingError as exc:
            failures.append(f"{text[:120]}: {str(exc).splitlines()[1:2]}")
    assert not failures, failures
    return len(seen)


def raw_rows(query, table: str) -> list[tuple]:
    """A raw table's values and source line, ordered by file and line; not load ids."""
    rows = query(
        f"select r.* from raw.{table} as r join raw.load_ledger as l on l.load_id = r._load_id"
        " order by l.source_uri, r._source_line"
    )
    return [(*r[:-2], r[-1]) for r in rows]


def assert_same_as_duckdb(server: EmulatedServer, report, duck_target, duck_report) -> None:
    assert report.rows == duck_report.rows and report.rows[2] > 0
    assert report.rule_counts() == duck_report.rule_counts()
    assert [f.state for f in report.files] == [f.state for f in duck_report.files]
    for table in ("encounters", "claims", "patients", "providers"):
        assert raw_rows(server.query, table) == raw_rows(duck_target.fetchall, table), table
    rejected = "select entity, line, column_name, rule_code from raw.rejected_rows order by 1, 2, 3, 4"
    assert server.query(rejected) == duck_target.fetchall(rejected)
    ledger = "select sum(rows_read), sum(rows_landed), sum(rows_rejected) from raw.load_ledger where state = 'landed'"
    read, landed, rejected_n = server.query(ledger)[0]
    assert read == landed + rejected_n == report.rows[0]


# -- SQL Server ------------------------------------------------------------------
@pytest.fixture
def mssql(tmp_path):
    server = EmulatedServer(tmp_path / "mssql.duckdb")
    opened: list[SqlServerTarget] = []

    def open_target(batch_rows: int = 250, fail_at: int | None = None) -> SqlServerTarget:
        t = SqlServerTarget(sqlserver_connection(server), bulk_copier(server, fail_at), batch_rows=batch_rows)
        opened.append(t)
        return t

    yield server, open_target
    for t in opened:  # each target's spool directory goes with it
        t.close()


def _staging_tables(server: EmulatedServer) -> list[str]:
    return [
        r[0]
        for r in server.query(
            "select table_name from information_schema.tables where table_name like '\\_carestar\\_%' escape '\\'"
        )
    ]


def test_sqlserver_lands_the_same_rows_as_duckdb(sample_tree, mssql, target):
    server, open_target = mssql
    t = open_target()
    report = load(str(sample_tree[0]), t, progress=False)
    duck = load(str(sample_tree[0]), target, progress=False)
    assert_same_as_duckdb(server, report, target, duck)
    assert _staging_tables(server) == []
    assert assert_parses(server, "tsql", "?") > 15
    # bulk copy in chunks no larger than batch_rows, adding up to every landed and rejected row
    bulks = [e for e in server.events if e[0] == "bulk"]
    assert bulks and max(e[2] for e in bulks) <= 250
    assert sum(e[2] for e in bulks if "_stage_" in e[1]) == report.rows[1]
    # rerun: nothing new, nothing sent in bulk
    server.events.clear()
    again = load(str(sample_tree[0]), t, progress=False)
    assert again.files == [] and not [e for e in server.events if e[0] == "bulk"]
    spool = t._spool
    assert spool.is_dir()
    t.close()
    assert not spool.exists()  # no file of the load is left behind in the temp directory


def test_sqlserver_transaction_boundaries(tmp_path, mssql):
    server, open_target = mssql
    root = tmp_path / "land"
    write(root, "patients/p.csv", f"{HEADER}\n{GOOD}P9,Cat,1970-13-45,\n")
    t = open_target(batch_rows=1)
    t.ensure_schema()
    server.events.clear()
    (result,) = load(str(root), t, progress=False).files
    assert result.state == "landed" and (result.rows_landed, result.rows_rejected) == (4, 1)
    kinds = [e[0] if e[0] != "sql" else e[1].split(" ")[0] + " " + e[1].split(" ")[1] for e in server.events]
    events = server.events

    def index(pred, start=0) -> int:
        return next(i for i in range(start, len(events)) if pred(events[i]))

    claim_insert = index(lambda e: e[0] == "sql" and e[1].startswith("insert into raw.load_ledger"))
    assert events[claim_insert + 1] == ("commit",), kinds  # the claim commits alone
    applock = index(lambda e: e[0] == "sql" and "sp_getapplock" in e[1] and "load_ledger" in e[1])
    assert applock < claim_insert
    create = index(lambda e: e[0] == "sql" and e[1].startswith("create table raw._carestar_stage_"), claim_insert)
    first_bulk = index(lambda e: e[0] == "bulk", create)
    assert ("commit",) in events[create:first_bulk]  # the bulk connection only sees committed tables
    bulk_rows = [e[2] for e in events if e[0] == "bulk"]
    assert bulk_rows == [1] * 5  # batch_rows=1: four valid rows, one rule broken
    move = index(lambda e: e[0] == "sql" and e[1].startswith("insert into raw.patients"))
    assert "from raw._carestar_stage_" in events[move][1]
    ledger = index(lambda e: e[0] == "sql" and e[1].startswith("update raw.load_ledger set state"), move)
    final_commit = index(lambda e: e == ("commit",), move)
    assert ledger < final_commit  # rows, rejects, drops and ledger row: one transaction
    between = events[move:final_commit]
    assert all(e[0] == "sql" for e in between)
    assert sum(1 for e in between if e[1].startswith("drop table raw._carestar_")) == 2
    assert _staging_tables(server) == []
    # values never reach SQL text: uri, load id and times are parameters
    assert all("p.csv" not in e[1] for e in events if e[0] == "sql")


def test_sqlserver_failed_bulk_copy_lands_nothing_and_cleans_up(tmp_path, mssql):
    server, open_target = mssql
    root = tmp_path / "land"
    rows = "".join(f"P{i},Name{i},1980-01-01,\n" for i in range(10))
    write(root, "patients/p.csv", f"{HEADER}\n{rows}")
    t = open_target(batch_rows=3, fail_at=2)
    (result,) = load(str(root), t, progress=False).files
    assert result.state == "failed" and result.error_code == "ConnectionError"
    assert server.query("select count(*) from raw.patients") == [(0,)]
    assert server.query("select state from raw.load_ledger") == [("failed",)]
    assert _staging_tables(server) == []
    t.close()
    retry = open_target(batch_rows=3)
    (again,) = load(str(root), retry, progress=False).files
    assert again.state == "landed" and server.query("select count(*) from raw.patients") == [(10,)]


def test_sqlserver_supersedes_and_stores_injection_as_text(tmp_path, mssql):
    server, open_target = mssql
    root = tmp_path / "land"
    body = INJECTION.replace('"', '""')
    write(root, "patients/p.csv", f'{HEADER}\nP1,"{body}",1980-01-01,\nP2,Bob,1970-01-01,\n')
    t = open_target()
    load(str(root), t, progress=False)
    write(root, "patients/p.csv", f'{HEADER}\nP1,"{body}",1980-01-01,\n')
    (result,) = load(str(root), t, progress=False).files
    assert result.superseded is not None
    assert server.query("select patient_id, first_name from raw.patients") == [("P1", INJECTION)]
    assert all(INJECTION not in sql for sql, _ in server.statements())
    states = server.query("select state from raw.load_ledger order by load_id")
    assert states == [("superseded",), ("landed",)]


def test_sqlserver_drops_staging_tables_of_dead_loaders(tmp_path, mssql):
    server, open_target = mssql
    t = open_target()
    t.ensure_schema()
    t.start_file(ENTITIES["patients"], 991)
    assert len(_staging_tables(server)) == 2
    t._staged = []  # the loader that made them died
    t.release_stale_claims()
    assert _staging_tables(server) == []


def test_tsql_types_and_connection_string():
    assert tsql_type("varchar(80) not null") == "nvarchar(80) not null"
    assert tsql_type("timestamp") == "datetime2(6)" and tsql_type("boolean") == "bit"
    assert tsql_type("integer") == "int" and tsql_type("decimal(10, 2)") == "decimal(10, 2)"
    env = {"MSSQL_SERVER": "db,1433", "MSSQL_DATABASE": "care", "MSSQL_USER": "u", "MSSQL_PASSWORD": "p;w}d"}
    text = connection_string(env)
    assert "PWD={p;w}}d};" in text and "Server={db,1433};" in text and "TrustServerCertificate=no" in text


# -- Redshift ------------------------------------------------------------------------
@pytest.fixture
def redshift(tmp_path, aws):
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="carestar-staging")
    server = EmulatedServer(tmp_path / "redshift.duckdb")
    opened: list[RedshiftTarget] = []

    def open_target(fail_copy_of: str | None = None) -> RedshiftTarget:
        from remote_emulator import EmulatedConnection

        conn = EmulatedConnection(server, redshift_renderer(s3, tmp_path / "copy-spool", fail_copy_of))
        t = RedshiftTarget(conn, "s3://carestar-staging/loads", ROLE, s3=s3)
        opened.append(t)
        return t

    yield server, s3, open_target
    for t in opened:  # each target's spool directory goes with it
        t.close()


def _staged_keys(s3) -> list[str]:
    return [o["Key"] for o in s3.list_objects_v2(Bucket="carestar-staging").get("Contents", [])]


def test_redshift_lands_the_same_rows_as_duckdb(sample_tree, redshift, target):
    server, s3, open_target = redshift
    t = open_target()
    report = load(str(sample_tree[0]), t, progress=False)
    duck = load(str(sample_tree[0]), target, progress=False)
    assert_same_as_duckdb(server, report, target, duck)
    assert _staged_keys(s3) == []  # staging emptied after every commit
    assert assert_parses(server, "redshift", "%s") > 10
    copies = [sql for sql, _ in server.statements() if sql.startswith("copy ")]
    landed_files = sum(1 for f in report.files if f.state == "landed")
    assert len(copies) >= landed_files  # one COPY per table per file, never per batch
    t.close()


def test_redshift_transaction_boundaries(tmp_path, redshift):
    server, s3, open_target = redshift
    root = tmp_path / "land"
    write(root, "patients/p.csv", f"{HEADER}\n{GOOD}P9,Cat,1970-13-45,\n")
    t = open_target()
    t.ensure_schema()
    server.events.clear()
    (result,) = load(str(root), t, progress=False).files
    assert result.state == "landed" and (result.rows_landed, result.rows_rejected) == (4, 1)
    events = server.events
    sqls = [(i, e[1]) for i, e in enumerate(events) if e[0] == "sql"]
    lock = next(i for i, s in sqls if s.startswith('lock "raw".load_ledger'))
    claim = next(i for i, s in sqls if s.startswith('insert into "raw".load_ledger'))
    assert lock < claim and events[claim + 1] == ("commit",)
    assert not [e for e in events[lock:claim] if e[0] in ("commit", "rollback")]  # check and insert under the lock
    copies = [i for i, s in sqls if s.startswith("copy ")]
    assert [s.split(" ")[1] for i, s in sqls if i in copies] == ['"raw".patients', '"raw".rejected_rows']
    ledger = next(i for i, s in sqls if s.startswith('update "raw".load_ledger set state = %s'))
    final_commit = next(i for i in range(copies[0], len(events)) if events[i] == ("commit",))
    assert copies[-1] < ledger < final_commit
    assert not [e for e in events[copies[0] : final_commit] if e[0] != "sql"]
    assert all("p.csv" not in sql for sql, _ in server.statements())
    assert _staged_keys(s3) == []


def test_redshift_failed_copy_lands_nothing_and_cleans_up(tmp_path, redshift):
    server, s3, open_target = redshift
    root = tmp_path / "land"
    write(root, "patients/p.csv", f"{HEADER}\n{GOOD}P9,Cat,1970-13-45,\n")
    (result,) = load(str(root), open_target(fail_copy_of="rejected_rows"), progress=False).files
    assert result.state == "failed"
    assert server.query("select count(*) from raw.patients") == [(0,)]
    assert _staged_keys(s3) == []
    (again,) = load(str(root), open_target(), progress=False).files
    assert again.state == "landed" and server.query("select count(*) from raw.patients") == [(4,)]


def test_redshift_deletes_staging_of_dead_loaders(redshift):
    _, s3, open_target = redshift
    t = open_target()
    t.ensure_schema()
    s3.put_object(Bucket="carestar-staging", Key="loads/77/patients-00001.parquet", Body=b"x")
    s3.put_object(Bucket="carestar-staging", Key="elsewhere/keep.txt", Body=b"x")
    t.release_stale_claims()
    assert _staged_keys(s3) == ["elsewhere/keep.txt"]


def test_redshift_settings_are_checked():
    assert redshift_type("varchar(80)") == "varchar(320)" and redshift_type("varchar(20000)") == "varchar(65535)"
    assert parse_staging("s3://bucket-1/a/b/") == ("bucket-1", "a/b")
    for bad in ("s3://bucket/x' iam_role 'y", "https://bucket/x", "s3://B/x"):
        with pytest.raises(TargetConfigError):
            parse_staging(bad)


@pytest.mark.parametrize("target_name", ["sqlserver", "redshift"])
def test_missing_settings_are_a_usage_error(target_name, tmp_path, monkeypatch, capsys):
    for name in ("MSSQL_SERVER", "MSSQL_PASSWORD", "REDSHIFT_HOST", "CARESTAR_REDSHIFT_STAGING"):
        monkeypatch.delenv(name, raising=False)
    assert main(["load", str(tmp_path), "--target", target_name, "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert re.search(r"set (MSSQL|REDSHIFT)_\w+", err)
