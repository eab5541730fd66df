"""Warehouse benchmarks on DuckDB, ratios against baselines measured in the same run.

    python bench/warehouse.py [--encounters 10000000]

1. dbt run from scratch over batch one vs an incremental dbt run after a 1% late batch
   (new encounters for old dates and corrections: 1% of batch one's encounters; claims
   settled since, late members). Then a run with nothing new: what dbt costs before any
   model has work to do. Each run's wall time and its time inside models (the sum of
   run_results.json's execution times) are both reported.
2. The acceptance query on FactPatientEncounters vs the same query on a hand-built copy of
   the same rows laid out ideally (sorted by DateID, fresh tables), both read from the file
   opened afresh.
3. Region/year figures read from the EncountersByRegion aggregate.
Writes bench/results/warehouse.md and .json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import duckdb

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "bench" / "data"
RESULTS = REPO / "bench" / "results"
DBT = str(Path(sys.executable).parent / "dbt")

from carestar.generate import SAMPLE_AS_OF, generate  # noqa: E402
from carestar.land import DuckDBTarget  # noqa: E402
from carestar.pipeline import load  # noqa: E402
from carestar.summary import ACCEPTANCE_QUERY  # noqa: E402


def dbt_run(db: Path, command: str = "run") -> tuple[float, float]:
    """Wall seconds of one dbt command, and the seconds its nodes spent (run_results.json)."""
    env = {**os.environ, "DBT_PROFILES_DIR": str(REPO / "profiles"), "CARESTAR_DUCKDB_PATH": str(db)}
    # The same vars on every command: a change of vars makes dbt parse the project afresh.
    args = [DBT, command, "--quiet", "--vars", f"{{as_of_date: '{SAMPLE_AS_OF}'}}"]
    start = time.perf_counter()
    subprocess.run(args, cwd=REPO, env=env, check=True)
    wall = time.perf_counter() - start
    results = json.loads((REPO / "target" / "run_results.json").read_text())["results"]
    return wall, sum(node["execution_time"] for node in results)


def load_tree(db: Path, root: Path) -> None:
    target = DuckDBTarget(str(db))
    try:
        load(str(root), target, progress=False)
    finally:
        target.close()


def median_ms(con: duckdb.DuckDBPyConnection, sql: str, repeat: int = 7) -> float:
    con.execute(sql).fetchall()  # warm
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        con.execute(sql).fetchall()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def alternating_medians_ms(
    con: duckdb.DuckDBPyConnection, sql: str, schemas: tuple[str, ...], repeat: int = 21
) -> list[float]:
    """Median time of `sql` in each schema, runs interleaved so load on the machine hits all alike."""
    times: dict[str, list[float]] = {s: [] for s in schemas}
    for schema in schemas:  # warm
        con.execute(f"set schema = '{schema}'")
        con.execute(sql).fetchall()
    for _ in range(repeat):
        for schema in schemas:
            con.execute(f"set schema = '{schema}'")
            start = time.perf_counter()
            con.execute(sql).fetchall()
            times[schema].append((time.perf_counter() - start) * 1000)
    return [statistics.median(times[s]) for s in schemas]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--encounters", type=int, default=10_000_000)
    args = parser.parse_args()
    n = args.encounters
    tree = DATA / f"warehouse-{n}-late1"
    if not (tree / "batch1" / "_generated.json").exists():
        print(f"generating {n:,} encounters and the late batch ...", flush=True)
        generate(tree / "batch1", n, seed=3, late_out=tree / "batch2", rows_per_file=1_000_000, late_scale=1 / 3)
    late = json.loads((tree / "batch1" / "_generated.json").read_text())["rows"]
    db = DATA / "warehouse-bench.duckdb"
    db.unlink(missing_ok=True)
    print("loading batch one ...", flush=True)
    load_tree(db, tree / "batch1")
    print("dbt seed, then dbt run from scratch ...", flush=True)
    dbt_run(db, "seed")
    full_s, full_models_s = dbt_run(db)
    print("loading the late batch, dbt run incremental ...", flush=True)
    load_tree(db, tree / "batch2")
    incremental_s, incremental_models_s = dbt_run(db)
    print("dbt run with nothing new ...", flush=True)
    idle_s, idle_models_s = dbt_run(db)

    con = duckdb.connect(str(db))
    rows = con.execute("select count(*) from FactPatientEncounters").fetchall()[0][0]
    con.execute("create schema if not exists ideal")
    for name in ("DimHospital", "DimDiagnosis", "DimDate"):
        con.execute(f"create or replace table ideal.{name} as select * from main.{name}")
    con.execute(
        "create or replace table ideal.FactPatientEncounters as"
        " select * from main.FactPatientEncounters order by DateID"
    )
    # Both copies read as a dashboard reads them: from the file, opened afresh (a table just
    # written would otherwise be answered from the blocks its writer left in memory).
    con.close()
    con = duckdb.connect(str(db), read_only=True)
    ours_ms, ideal_ms = alternating_medians_ms(con, ACCEPTANCE_QUERY, ("main", "ideal"))
    con.execute("set schema = 'main'")
    aggregate_ms = median_ms(
        con, "select Region, Year, EncounterCount, TotalBilling from EncountersByRegion", repeat=21
    )
    con.close()
    shutil.rmtree(DATA / "ideal", ignore_errors=True)

    results = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "encounters": n,
        "fact_rows": rows,
        "late_batch": {k.removeprefix("late_"): v for k, v in late.items() if k.startswith("late_")},
        "full_run_s": full_s,
        "incremental_run_s": incremental_s,
        "incremental_share": incremental_s / full_s,
        "full_models_s": full_models_s,
        "incremental_models_s": incremental_models_s,
        "incremental_models_share": incremental_models_s / full_models_s,
        "nothing_new_run_s": idle_s,
        "nothing_new_models_s": idle_models_s,
        "acceptance_ms": ours_ms,
        "acceptance_ideal_ms": ideal_ms,
        "acceptance_ratio": ours_ms / ideal_ms,
        "aggregate_ms": aggregate_ms,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "warehouse.json").write_text(json.dumps(results, indent=2))
    lines = [
        "# Warehouse benchmark (DuckDB)",
        "",
        f"{results['when']}, {results['machine']}, {n:,} encounters ({rows:,} fact rows after the late batch).",
        f"Late batch: {late['late_encounters']:,} encounters ({late['late_encounters'] / n:.1%} of batch one:"
        f" new ones for old dates and corrections), {late['late_claims']:,} claims settled since,"
        f" {late['late_patients']:,} patients described late.",
        "",
        "| measure | carestar | baseline | ratio | goal |",
        "|---|---|---|---|---|",
        f"| dbt run: incremental after the late batch vs from scratch | {incremental_s:.1f} s | {full_s:.1f} s"
        f" | {incremental_s / full_s:.0%} | ≤ 10% |",
        f"| the same runs, time inside models only (dbt's start-up, parsing and bookkeeping left out)"
        f" | {incremental_models_s:.1f} s | {full_models_s:.1f} s | {incremental_models_s / full_models_s:.0%} | |",
        f"| dbt run with nothing new (wall; inside models) | {idle_s:.1f} s; {idle_models_s:.1f} s | {full_s:.1f} s"
        f" | {idle_s / full_s:.0%} | |",
        f"| acceptance query: FactPatientEncounters vs an ideally laid-out copy | {ours_ms:.0f} ms | {ideal_ms:.0f} ms"
        f" | {ours_ms / ideal_ms:.2f} | ≤ 1.2 |",
        f"| region/year figures from EncountersByRegion | {aggregate_ms:.2f} ms | | | < 5 ms |",
    ]
    (RESULTS / "warehouse.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
