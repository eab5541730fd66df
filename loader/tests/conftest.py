from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
import yaml

from carestar.generate import SAMPLE_AS_OF, generate
from carestar.land import DuckDBTarget
from carestar.pipeline import load

REPO = Path(__file__).resolve().parents[2]


# Every relation of the warehouse contract and the marts, with a total order for comparing them.
CONTRACT_RELATIONS = {
    "DimDate": "DateID",
    "DimPatient": "PatientID",
    "DimProvider": "ProviderID",
    "DimHospital": "HospitalID",
    "DimDiagnosis": "DiagnosisID",
    "FactPatientEncounters": "EncounterID",
    "EncountersByRegion": "Region, Year",
    "BillingByRegionDiagnosis": "Region, Year, DiagnosisID",
    "WeeklyDeniedClaims": "WeekStartDate, ProviderGroup, Region",
    "ProviderMissedAppointments": "ProviderID",
    "BillingExceptions": "RuleCode, RecordType, RecordID",
    "LoadQuality": "LoadDate, Entity, RuleCode",
}


def snapshot(db: Path) -> dict[str, list[tuple]]:
    """Every contract relation of a DuckDB warehouse, row for row."""
    return {name: query(db, f"select * from {name} order by {order}") for name, order in CONTRACT_RELATIONS.items()}


@pytest.fixture
def target(tmp_path: Path):
    t = DuckDBTarget(str(tmp_path / "w.duckdb"))
    yield t
    t.close()


@pytest.fixture
def run_load(target: DuckDBTarget):
    """Load a folder into the test warehouse (no progress bar)."""

    def _run(root: Path, **kwargs):
        kwargs.setdefault("progress", False)
        return load(str(root), target, **kwargs)

    return _run


def land_a_stray_row(monkeypatch, target) -> None:
    """Make every file's landing insert one row more than was validated, inside its transaction."""
    land_valid = type(target).land_valid

    def land_one_more(self, entity, load_id):
        land_valid(self, entity, load_id)
        self.execute(
            f"insert into raw.{entity.name} (patient_id, _load_id, _source_line) values ('X', ?, 0)", [load_id]
        )

    monkeypatch.setattr(type(target), "land_valid", land_one_more)


def write(root: Path, relative: str, content: str | bytes) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)
    return path


@pytest.fixture(scope="session")
def sample_tree(tmp_path_factory) -> tuple[Path, Path]:
    """A small generated landing tree with bad rows, and its later batch."""
    base = tmp_path_factory.mktemp("landing")
    generate(base / "batch1", 4000, seed=7, bad_share=0.03, late_out=base / "batch2", rows_per_file=900)
    return base / "batch1", base / "batch2"


def _with_sample_today(args: tuple[str, ...]) -> list[str]:
    """dbt args with var as_of_date set to the sample's today (unless a test sets it), so the marts
    that depend on the run date (ProviderMissedAppointments, BE05) give the same rows on any day."""
    out = list(args)
    if "--vars" not in out:
        out += ["--vars", "{}"]
    at = out.index("--vars") + 1
    values = yaml.safe_load(out[at]) or {}
    values.setdefault("as_of_date", SAMPLE_AS_OF.isoformat())
    out[at] = json.dumps(values)
    return out


# dbt saves its parse of the project (target/partial_parse.msgpack) and reuses it while the
# project's files, the vars and the profile's connection settings are unchanged; it checks that
# itself and parses afresh otherwise. Each test's build has its own target folder, so the session
# hands the latest parse for each target and vars on to the next folder: that saves ~4 s of each
# dbt call. The DuckDB path is part of dbt's check, so dbt runs in the database's folder on its
# bare file name, and the tests name every warehouse file WAREHOUSE_FILE.
WAREHOUSE_FILE = "carestar.duckdb"
_PARSE_CACHE: dict[str, Path] = {}


@pytest.fixture(scope="session", autouse=True)
def _dbt_parse_cache(tmp_path_factory):
    _PARSE_CACHE["at"] = tmp_path_factory.mktemp("dbt-parse")
    yield
    _PARSE_CACHE.clear()


def dbt(*args: str, db: Path, check: bool = True, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run dbt on this project; `db` is the DuckDB file (or, for other targets, a folder for dbt's output)."""
    env = {**os.environ, "DBT_PROFILES_DIR": str(REPO / "profiles"), "CARESTAR_DUCKDB_PATH": db.name, **(env or {})}
    exe = shutil.which("dbt", path=str(Path(sys.executable).parent)) or "dbt"
    args_with_vars = _with_sample_today(args)
    vars_key = hashlib.sha1(args_with_vars[args_with_vars.index("--vars") + 1].encode()).hexdigest()[:12]
    saved, folder = db.parent / "target" / "partial_parse.msgpack", _PARSE_CACHE.get("at")
    cached = folder / f"{env.get('CARESTAR_TARGET', 'duckdb')}-{vars_key}.msgpack" if folder else None
    if cached is not None and cached.exists() and not saved.exists():
        saved.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(cached, saved)
    proc = subprocess.run(
        [
            exe,
            *args_with_vars,
            "--project-dir",
            str(REPO),
            "--target-path",
            str(db.parent / "target"),
            "--log-path",
            str(db.parent / "logs"),
        ],
        env=env,
        capture_output=True,
        text=True,
        cwd=db.parent,
    )
    if cached is not None and saved.exists():
        shutil.copy(saved, cached)
    if check and proc.returncode != 0:
        raise AssertionError(f"dbt {' '.join(args)} failed:\n{proc.stdout[-6000:]}\n{proc.stderr[-2000:]}")
    return proc


def load_into(db: Path, root: Path) -> None:
    """Load a landing tree into a DuckDB file."""
    t = DuckDBTarget(str(db))
    try:
        load(str(root), t, progress=False)
    finally:
        t.close()


@pytest.fixture(scope="session")
def built_warehouse(tmp_path_factory, sample_tree) -> Path:
    """Batch one loaded and built with dbt on a fresh DuckDB file."""
    db = tmp_path_factory.mktemp("warehouse") / WAREHOUSE_FILE
    load_into(db, sample_tree[0])
    dbt("build", db=db)
    return db


@pytest.fixture(scope="session")
def late_warehouse(built_warehouse, sample_tree, tmp_path_factory) -> Path:
    """Batch one built, then batch two loaded and built incrementally."""
    db = tmp_path_factory.mktemp("late") / WAREHOUSE_FILE
    shutil.copy(built_warehouse, db)
    load_into(db, sample_tree[1])
    dbt("build", db=db)
    return db


def query(db: Path, sql: str, params=None) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


@pytest.fixture(scope="session")
def postgres_env():
    """libpq variables of a throwaway PostgreSQL cluster, for the whole session."""
    from pg import postgres_cluster

    with postgres_cluster() as env:
        yield env


@pytest.fixture
def pg_target(postgres_env, monkeypatch):
    """A PostgresTarget on a fresh raw schema."""
    import psycopg

    from carestar.land import PostgresTarget

    for key, value in postgres_env.items():
        monkeypatch.setenv(key, value)
    with psycopg.connect("", autocommit=True) as conn:
        conn.execute("drop schema if exists raw cascade")
    t = PostgresTarget()
    yield t
    t.close()


@pytest.fixture(scope="session")
def s3_server():
    """moto's server over HTTP on 127.0.0.1 (S3, Secrets Manager)."""
    import socket

    from moto.server import ThreadedMotoServer

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def aws(s3_server, monkeypatch):
    """boto3 pointed at the moto server through AWS_ENDPOINT_URL, with test credentials."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_server)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    return s3_server
