"""Kill the loader with SIGKILL at random points; every rerun ends with exactly the rows of one clean load."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time

import pytest
from conftest import load_into, query

pytestmark = pytest.mark.slow

TRIALS = 8


def _state(db) -> dict:
    tables = (
        "patients",
        "providers",
        "hospitals",
        "diagnoses",
        "encounters",
        "claims",
        "appointments",
        "rejected_rows",
    )
    counts = {t: query(db, f"select count(*) from raw.{t}")[0][0] for t in tables}
    counts["distinct_rows"] = query(
        db,
        "select count(*) from (select distinct l.source_uri, r._source_line from raw.encounters as r"
        " join raw.load_ledger as l on l.load_id = r._load_id) as d",
    )[0][0]
    counts["ledger_landed"] = query(db, "select count(*) from raw.load_ledger where state = 'landed'")[0][0]
    return counts


def test_sigkill_at_random_points_then_rerun_lands_each_row_once(sample_tree, tmp_path):
    clean = tmp_path / "clean.duckdb"
    load_into(clean, sample_tree[0])
    expected = _state(clean)
    rng = random.Random(20261125)
    env = {**os.environ}
    # Kill points are spread over the time a whole run takes here (start-up included), so
    # they fall while files land however fast this machine loads them.
    env["CARESTAR_DUCKDB_PATH"] = str(tmp_path / "timed.duckdb")
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "carestar", "load", str(sample_tree[0]), "--no-progress"], env=env)
    run_s = time.perf_counter() - started
    mid_load_crashes = 0
    for trial in range(TRIALS):
        db = tmp_path / f"crash-{trial}.duckdb"
        env["CARESTAR_DUCKDB_PATH"] = str(db)
        jobs = str(1 + trial % 2)  # one file at a time, then two at once, by turns
        cmd = [sys.executable, "-m", "carestar", "load", str(sample_tree[0]), "--no-progress", "--jobs", jobs]
        kills = 0
        for _ in range(3):  # up to three crashes in a row, at random points
            proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(rng.uniform(0.2, 1.0) * run_s)
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                kills += 1
            proc.wait()
            if kills and db.exists():  # a kill may land before the schema exists: nothing landed then
                has_ledger = query(
                    db,
                    "select count(*) from information_schema.tables"
                    " where table_schema = 'raw' and table_name = 'load_ledger'",
                )[0][0]
                landed = (
                    query(db, "select count(*) from raw.load_ledger where state = 'landed'")[0][0] if has_ledger else 0
                )
                mid_load_crashes += 0 < landed < expected["ledger_landed"]
        final = subprocess.run(cmd, env=env, capture_output=True, text=True)
        assert final.returncode in (0, 3), final.stderr[-2000:]
        state = _state(db)
        assert state == expected, f"trial {trial} (jobs {jobs}) after {kills} kills"
        assert state["distinct_rows"] == state["encounters"]  # no row twice
        ledger = query(
            db,
            "select sum(rows_read), sum(rows_landed) + sum(rows_rejected) from raw.load_ledger where state = 'landed'",
        )
        assert ledger[0][0] == ledger[0][1]
    assert mid_load_crashes > 0, "no kill landed between the first and the last file"
