"""Warehouse benchmarks on DuckDB, ratios against baselines measured in the same run.

    python bench/warehouse.py [--encounters 1000000 10000000]

At each size:
1. dbt run from scratch over batch one vs an incremental dbt run after a 1% late batch
   (new encounters for old dates and corrections: 1% of batch one's encounters; claims
   settled since, late members). Then a run with nothing new: what dbt costs before any
   model has work to do. Each run's wall time and its time inside models (the sum of
   run_results.json's execution times) are both reported, and the models the incremental
   run spent most on.
2. The acceptance query on FactPatientEncounters vs the same query on a hand-built copy of
   the same rows laid out ideally (sorted by DateID, fresh tables), both read from the file
   opened afresh.
3. Region/year figures read from the EncountersByRegion aggregate.
With two sizes or more, how each run grows with the data (seconds per million encounters,
between the smallest and the largest size) and, when the largest is below 100M, the
incremental share that growth leads to at 100M: a projection, marked as one.
Writes bench/results/warehouse.md and .json (--name: another name, e.g. for a 100M run alone).
From 50M encounters every generated file is gzipped, so the 100M files take about 12 GB.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
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
PROJECTED_AT = 100_000_000
# From this size every generated file is gzipped: 100M encounters take about 12 GB so, not 40.
GZIP_ALL_FROM = 50_000_000
TOP_MODELS = 6

from carestar.generate import SAMPLE_AS_OF, generate  # noqa: E402
from carestar.land import DuckDBTarget  # noqa: E402
from carestar.pipeline import load  # noqa: E402
from carestar.summary import ACCEPTANCE_QUERY  # noqa: E402


def dbt_run(db: Path, command: str = "run") -> tuple[float, dict[str, float]]:
    """Wall seconds of one dbt command, and the seconds each of its nodes spent (run_results.json)."""
    env = {**os.environ, "DBT_PROFILES_DIR": str(REPO / "profiles"), "CARESTAR_DUCKDB_PATH": str(db)}
    # The same vars on every command: a change of vars makes dbt parse the project afresh.
    args = [DBT, command, "--quiet", "--vars", f"{{as_of_date: '{SAMPLE_AS_OF}'}}"]
    start = time.perf_counter()
    subprocess.run(args, cwd=REPO, env=env, check=True)
    wall = time.perf_counter() - start
    results = json.loads((REPO / "target" / "run_results.json").read_text())["results"]
    return wall, {node["unique_id"].split(".")[-1]: node["execution_time"] for node in results}


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


def queries(db: Path) -> dict:
    """The acceptance query against an ideally laid-out copy, and the aggregate's figures."""
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
    return {
        "fact_rows": rows,
        "acceptance_ms": ours_ms,
        "acceptance_ideal_ms": ideal_ms,
        "acceptance_ratio": ours_ms / ideal_ms,
        "aggregate_ms": aggregate_ms,
    }


def measure(n: int) -> dict:
    """Every measure at one size, on a database built afresh."""
    tree = DATA / f"warehouse-{n}-late1"
    if not (tree / "batch1" / "_generated.json").exists():
        print(f"generating {n:,} encounters and the late batch ...", flush=True)
        generate(
            tree / "batch1",
            n,
            seed=3,
            late_out=tree / "batch2",
            rows_per_file=1_000_000,
            late_scale=1 / 3,
            gzip_every=1 if n >= GZIP_ALL_FROM else 4,
        )
    late = json.loads((tree / "batch1" / "_generated.json").read_text())["rows"]
    db = DATA / "warehouse-bench.duckdb"
    db.unlink(missing_ok=True)
    print(f"{n:,} encounters: loading batch one ...", flush=True)
    load_tree(db, tree / "batch1")
    print("dbt seed, then dbt run from scratch ...", flush=True)
    dbt_run(db, "seed")
    full_s, full_models = dbt_run(db)
    print("loading the late batch, dbt run incremental ...", flush=True)
    load_tree(db, tree / "batch2")
    incremental_s, incremental_models = dbt_run(db)
    print("dbt run with nothing new ...", flush=True)
    idle_s, idle_models = dbt_run(db)
    figures = queries(db)
    by_time = dict(sorted(incremental_models.items(), key=lambda item: -item[1]))
    return {
        "encounters": n,
        "late_batch": {k.removeprefix("late_"): v for k, v in late.items() if k.startswith("late_")},
        "full_run_s": full_s,
        "incremental_run_s": incremental_s,
        "incremental_share": incremental_s / full_s,
        "full_models_s": sum(full_models.values()),
        "incremental_models_s": sum(incremental_models.values()),
        "incremental_models_share": sum(incremental_models.values()) / sum(full_models.values()),
        "nothing_new_run_s": idle_s,
        "nothing_new_models_s": sum(idle_models.values()),
        "incremental_run_models_s": by_time,
        **figures,
    }


def trend(runs: list[dict]) -> dict | None:
    """Seconds per million encounters of each run (a line through the smallest and largest size),
    and where that line leads at 100M when the largest size measured is smaller."""
    if len(runs) < 2:
        return None
    small, large = runs[0], runs[-1]
    millions = (large["encounters"] - small["encounters"]) / 1e6
    out: dict[str, float] = {}
    for key in ("full_run_s", "incremental_run_s"):
        out[f"{key.removesuffix('_s')}_s_per_million"] = (large[key] - small[key]) / millions
    out["incremental_share_limit"] = out["incremental_run_s_per_million"] / out["full_run_s_per_million"]
    if large["encounters"] < PROJECTED_AT:
        more = (PROJECTED_AT - large["encounters"]) / 1e6
        for key in ("full_run_s", "incremental_run_s"):
            name = key.removesuffix("_s")
            out[f"{name}_projected_s"] = large[key] + out[f"{name}_s_per_million"] * more
        out["projected_encounters"] = PROJECTED_AT
        out["incremental_share_projected"] = out["incremental_run_projected_s"] / out["full_run_projected_s"]
    return out


def size_lines(r: dict) -> list[str]:
    late = r["late_batch"]
    top = list(r["incremental_run_models_s"].items())[:TOP_MODELS]
    top_text = ", ".join(f"{name} {seconds:.2f} s" for name, seconds in top)
    return [
        f"## {r['encounters']:,} encounters ({r['fact_rows']:,} fact rows after the late batch)",
        "",
        f"Late batch: {late['encounters']:,} encounters ({late['encounters'] / r['encounters']:.1%} of batch one:"
        f" new ones for old dates and corrections), {late['claims']:,} claims settled since,"
        f" {late['patients']:,} patients described late.",
        "",
        "| measure | carestar | baseline | ratio | goal |",
        "|---|---|---|---|---|",
        f"| dbt run: incremental after the late batch vs from scratch | {r['incremental_run_s']:.1f} s"
        f" | {r['full_run_s']:.1f} s | {r['incremental_share']:.0%} | ≤ 10% |",
        f"| the same runs, time inside models only (dbt's start-up, parsing and bookkeeping left out)"
        f" | {r['incremental_models_s']:.1f} s | {r['full_models_s']:.1f} s | {r['incremental_models_share']:.0%} | |",
        f"| dbt run with nothing new (wall; inside models) | {r['nothing_new_run_s']:.1f} s;"
        f" {r['nothing_new_models_s']:.1f} s | {r['full_run_s']:.1f} s"
        f" | {r['nothing_new_run_s'] / r['full_run_s']:.0%} | |",
        f"| acceptance query: FactPatientEncounters vs an ideally laid-out copy | {r['acceptance_ms']:.0f} ms"
        f" | {r['acceptance_ideal_ms']:.0f} ms | {r['acceptance_ratio']:.2f} | ≤ 1.2 |",
        f"| region/year figures from EncountersByRegion | {r['aggregate_ms']:.2f} ms | | | < 5 ms |",
        "",
        f"Incremental run, the models it spent most in: {top_text}.",
        "",
    ]


def trend_lines(runs: list[dict], t: dict) -> list[str]:
    small, large = runs[0]["encounters"], runs[-1]["encounters"]
    projected = "full_run_projected_s" in t
    full_at = f" | {t['full_run_projected_s']:.0f} s" if projected else ""
    incremental_at = (
        f" | {t['incremental_run_projected_s']:.0f} s ({t['incremental_share_projected']:.0%} of from scratch)"
        if projected
        else ""
    )
    return [
        f"## How the runs grow ({small:,} to {large:,} encounters)",
        "",
        "| run | seconds per million encounters"
        + (" | at 100,000,000 (projected, not measured) |" if projected else " |"),
        "|---|---|---|" if projected else "|---|---|",
        f"| from scratch | {t['full_run_s_per_million']:.2f}{full_at} |",
        f"| incremental after a 1% late batch | {t['incremental_run_s_per_million']:.2f}{incremental_at} |",
        "",
        f"The incremental run grows {t['incremental_share_limit']:.0%} as fast as the run from scratch: the share"
        " it tends to as the data grows and dbt's fixed cost fades.",
        "",
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--encounters", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument(
        "--name", default="warehouse", help="results file name in bench/results (.md and .json); default warehouse"
    )
    args = parser.parse_args()
    sizes = sorted(set(args.encounters))
    runs = [measure(n) for n in sizes]
    growth = trend(runs)
    results = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "runs": runs,
        "trend": growth,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{args.name}.json").write_text(json.dumps(results, indent=2))
    lines = ["# Warehouse benchmark (DuckDB)", "", f"{results['when']}, {results['machine']}.", ""]
    for r in reversed(runs):  # the largest first: the figures the goals are about
        lines += size_lines(r)
    if growth:
        lines += trend_lines(runs, growth)
    (RESULTS / f"{args.name}.md").write_text("\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
