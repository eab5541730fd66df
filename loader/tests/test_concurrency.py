"""Two loaders started on the same prefix at once never land a file twice."""

from __future__ import annotations

import os
import subprocess
import sys

import psycopg
import pytest
from conftest import load_into, query

pytestmark = pytest.mark.slow


def _two_loaders(source, env: dict, target: str) -> list[subprocess.CompletedProcess]:
    cmd = [sys.executable, "-m", "carestar", "-v", "load", str(source), "--target", target, "--no-progress"]
    procs = [
        subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)
    ]
    return [subprocess.CompletedProcess(p.args, p.wait(), *p.communicate()) for p in procs]


def test_two_loaders_on_postgres_split_the_files(sample_tree, postgres_env, tmp_path):
    conninfo = "host={PGHOST} port={PGPORT} user={PGUSER} dbname={PGDATABASE}".format(**postgres_env)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("drop schema if exists raw cascade")
    runs = _two_loaders(sample_tree[0], {**os.environ, **postgres_env}, "postgres")
    assert all(r.returncode in (0, 3) for r in runs), [r.stderr[-1500:] for r in runs]
    expected = tmp_path / "one.duckdb"
    load_into(expected, sample_tree[0])
    with psycopg.connect(conninfo) as conn:
        for table in ("encounters", "claims", "patients", "rejected_rows"):
            (n,) = conn.execute(f"select count(*) from raw.{table}").fetchone()
            assert n == query(expected, f"select count(*) from raw.{table}")[0][0], table
        (versions, landed) = conn.execute(
            "select count(distinct source_uri), count(*) from raw.load_ledger where state = 'landed'"
        ).fetchone()
        assert versions == landed == query(expected, "select count(*) from raw.load_ledger")[0][0]
        per_run = dict(conn.execute("select run_id, count(*) from raw.load_ledger group by run_id").fetchall())
    # both loaders worked, on different files: each file version went to exactly one of them
    assert len(per_run) == 2 and sum(per_run.values()) == landed, per_run


def test_two_loaders_on_one_duckdb_file_wait_for_each_other(sample_tree, tmp_path):
    db = tmp_path / "shared.duckdb"
    runs = _two_loaders(sample_tree[0], {**os.environ, "CARESTAR_DUCKDB_PATH": str(db)}, "duckdb")
    assert all(r.returncode in (0, 3) for r in runs), [r.stderr[-1500:] for r in runs]
    expected = tmp_path / "one.duckdb"
    load_into(expected, sample_tree[0])
    for table in ("encounters", "claims", "patients", "rejected_rows", "load_ledger"):
        assert query(db, f"select count(*) from raw.{table}") == query(expected, f"select count(*) from raw.{table}")
    outputs = " ".join(r.stdout for r in runs)
    assert "already loaded 0" in outputs and "files landed 0" in outputs  # the second found everything landed
