"""`carestar run`: load, dbt build, one summary and one exit code; an alert names the dashboards a failure hits."""

from __future__ import annotations

import duckdb
import pytest
from conftest import REPO
from test_alert import webhook  # noqa: F401  (fixture)

from carestar.cli import main
from carestar.generate import SAMPLE_AS_OF
from carestar.job import affected_exposures

pytestmark = pytest.mark.slow


def _run(source, tmp_path) -> int:
    return main(
        [
            "run",
            str(source),
            "--project-dir",
            str(REPO),
            "--vars",
            f"{{as_of_date: '{SAMPLE_AS_OF}'}}",
            "--report",
            str(tmp_path / "job.json"),
        ]
    )


def test_the_nightly_job_end_to_end_and_a_failure_alert(sample_tree, tmp_path, monkeypatch, webhook, capsys):  # noqa: F811
    monkeypatch.setenv("CARESTAR_DUCKDB_PATH", str(tmp_path / "job.duckdb"))
    monkeypatch.setenv("DBT_TARGET_PATH", str(tmp_path / "target"))
    monkeypatch.setenv("DBT_LOG_PATH", str(tmp_path / "logs"))
    assert _run(sample_tree[0], tmp_path) == 3  # the sample has bad rows: partial, not failed
    import json

    summary = json.loads((tmp_path / "job.json").read_text())
    assert summary["dbt"]["models_built"] >= 30 and summary["dbt"]["tests_failed"] == 0
    assert summary["load"]["rows"]["rejected"] > 0
    assert summary["dbt"]["freshness_checked"] and summary["dbt"]["stale_sources"] == []  # just loaded: fresh
    webhook.clear()

    con = duckdb.connect(str(tmp_path / "job.duckdb"))
    con.execute("alter table raw.encounters rename column billing_amount to billing_amount_lost")  # injected
    con.close()
    assert _run(sample_tree[0], tmp_path) == 1
    (alert,) = webhook
    assert "stg_landing__encounters" in alert["text"]
    assert "Dashboards affected:" in alert["text"] and "Billing exceptions" in alert["text"]
    out = capsys.readouterr().out
    assert "Dashboards affected" in out


def test_stale_sources_are_read_from_dbt_freshness_results(tmp_path):
    from carestar.job import stale_sources

    (tmp_path / "sources.json").write_text(
        '{"results": [{"unique_id": "source.carestar.landing.encounters", "status": "warn"},'
        ' {"unique_id": "source.carestar.landing.claims", "status": "pass"}]}'
    )
    assert stale_sources(tmp_path / "sources.json") == ["landing.encounters"]
    assert stale_sources(tmp_path / "missing.json") == []


def test_affected_exposures_follow_the_graph():
    manifest = {
        "child_map": {"a": ["b"], "b": ["exposure.p.x"], "c": ["exposure.p.y"]},
        "exposures": {"exposure.p.x": {"name": "x", "label": "X board"}, "exposure.p.y": {"name": "y"}},
    }
    assert affected_exposures(manifest, ["a"]) == ["X board"]
    assert affected_exposures(manifest, ["a", "c"]) == ["X board", "y"]


def test_the_nightly_job_on_postgres(sample_tree, tmp_path, monkeypatch, postgres_env):
    import psycopg

    for key, value in postgres_env.items():
        monkeypatch.setenv(key, value)
    conninfo = "host={PGHOST} port={PGPORT} user={PGUSER} dbname={PGDATABASE}".format(**postgres_env)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        for schema in ("raw", "public", "public_staging", "public_reference"):
            conn.execute(f"drop schema if exists {schema} cascade")
        conn.execute("create schema public")
    monkeypatch.setenv("DBT_TARGET_PATH", str(tmp_path / "target"))
    monkeypatch.setenv("DBT_LOG_PATH", str(tmp_path / "logs"))
    code = main(
        [
            "run",
            str(sample_tree[0]),
            "--target",
            "postgres",
            "--project-dir",
            str(REPO),
            "--vars",
            f"{{as_of_date: '{SAMPLE_AS_OF}'}}",
            "--report",
            str(tmp_path / "job.json"),
        ]
    )
    assert code == 3  # bad rows in the sample: partial
    import json

    summary = json.loads((tmp_path / "job.json").read_text())
    assert summary["dbt"]["exit_code"] == 0 and summary["dbt"]["models_built"] >= 30
    with psycopg.connect(conninfo) as conn:
        (fact,) = conn.execute("select count(*) from FactPatientEncounters").fetchone()
        (audit,) = conn.execute("select count(*) from dbt_run_audit where status = 'success'").fetchone()
    assert fact > 0 and audit >= 30
