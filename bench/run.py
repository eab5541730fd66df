"""carestar benchmarks: ratios against baselines measured in the same run, on the same files.

    python bench/run.py [--encounters 1000000 10000000] [--skip-postgres] [--memory-gb 2]

Writes bench/results/loader.md and bench/results/loader.json. Nothing here is a test:
timings vary by machine; the ratios are what the README quotes.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import re
import subprocess
import sys
import time
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

import duckdb

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "loader" / "tests"))  # the throwaway PostgreSQL cluster helper

from carestar.generate import generate  # noqa: E402
from carestar.land import DuckDBTarget, PostgresTarget  # noqa: E402
from carestar.pipeline import load  # noqa: E402

DATA = REPO / "bench" / "data"
RESULTS = REPO / "bench" / "results"
NAIVE_SAMPLE_ROWS = 20_000
# Runs of each side, alternating, of which the fastest counts: on this shared 2-core machine one
# run of either side can take a third longer than the next, and five runs steady the ratio.
REPEAT = 5


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def timed_load(root: Path, target) -> tuple[float, int]:
    """Seconds carestar takes to load `root` into `target` and close it, and the rows read.

    The close counts: closing a DuckDB file checkpoints it, and that can be work the load
    left behind (partly filled row groups to merge). A nightly job waits for it too.
    """
    start = time.perf_counter()
    try:
        report = load(str(root), target, progress=False)
    finally:
        target.close()
    return time.perf_counter() - start, report.rows[0]


def encounter_csvs(n: int) -> tuple[Path, list[Path]]:
    """A landing root holding only the encounters' CSV files of an n-encounter sample."""
    tree = DATA / f"tree-{n}"
    if not (tree / "_generated.json").exists():
        print(f"generating {n:,} encounters ...", flush=True)
        generate(tree, n, seed=1, rows_per_file=1_000_000)
    root = DATA / f"encounters-csv-{n}"
    files = sorted((tree / "encounters").rglob("*.csv"))
    (root / "encounters").mkdir(parents=True, exist_ok=True)
    linked = []
    for f in files:
        link = root / "encounters" / f.name
        if not link.exists():
            link.symlink_to(f)
        linked.append(link)
    return root, linked


def bench_duckdb(root: Path, files: list[Path], repeat: int = REPEAT) -> dict:
    """Best of `repeat` runs each, alternating carestar and read_csv, each into a fresh file."""
    db = DATA / "bench.duckdb"
    paths = ", ".join(f"'{f}'" for f in files)
    ours, baseline, rows = [], [], 0
    for _ in range(repeat):
        db.unlink(missing_ok=True)
        seconds, rows = timed_load(root, DuckDBTarget(str(db)))
        ours.append(seconds)
        db.unlink(missing_ok=True)
        con = duckdb.connect(str(db))

        def read_csv(c=con) -> None:
            c.execute(f"create table t as select * from read_csv([{paths}], header = true)")
            c.close()  # its close counts as carestar's does

        seconds, _ = timed(read_csv)
        baseline.append(seconds)
    db.unlink(missing_ok=True)
    best, base = min(ours), min(baseline)
    return {
        "rows": rows,
        "carestar_s": best,
        "read_csv_s": base,
        "ratio": best / base,
        "repeat": repeat,
        "carestar_runs_s": ours,
        "read_csv_runs_s": baseline,
    }


_MONEY = re.compile(r"-?\d+(\.\d{1,2})?")


def _naive_valid(row: dict) -> tuple | None:
    """A per-row Python validator, the way a first loader would write it."""
    try:
        for key in ("encounter_id", "patient_id", "provider_id", "hospital_id"):
            if not row[key].strip() or len(row[key].strip()) > 64:
                return None
        day = date.fromisoformat(row["encounter_date"][:10])
        amount = Decimal(row["billing_amount"]) if row["billing_amount"] else None
        if row["billing_amount"] and not _MONEY.fullmatch(row["billing_amount"]):
            return None
        duration = int(row["encounter_duration"]) if row["encounter_duration"] else None
    except (ValueError, InvalidOperation):
        return None
    return (
        row["encounter_id"],
        row["patient_id"],
        row["provider_id"],
        row["hospital_id"],
        row["diagnosis_code"] or None,
        day,
        amount,
        duration,
    )


def bench_naive(files: list[Path], carestar_rows_per_s: float) -> dict:
    con = duckdb.connect()
    con.execute(
        "create table e (encounter_id varchar, patient_id varchar, provider_id varchar, hospital_id varchar,"
        " diagnosis_code varchar, encounter_date date, billing_amount decimal(10,2), encounter_duration integer)"
    )

    def run() -> int:
        batch, n = [], 0
        with files[0].open(newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                if n >= NAIVE_SAMPLE_ROWS:
                    break
                n += 1
                valid = _naive_valid(row)
                if valid:
                    batch.append(valid)
                if len(batch) == 2000:
                    con.executemany("insert into e values (?, ?, ?, ?, ?, ?, ?, ?)", batch)
                    batch.clear()
        if batch:
            con.executemany("insert into e values (?, ?, ?, ?, ?, ?, ?, ?)", batch)
        return n

    seconds, n = timed(run)
    naive_rows_per_s = n / seconds
    return {"sample_rows": n, "naive_rows_per_s": naive_rows_per_s, "speedup": carestar_rows_per_s / naive_rows_per_s}


def bench_postgres(root: Path, files: list[Path], repeat: int = REPEAT) -> dict:
    """Best of `repeat` runs each, alternating carestar and bare COPY, each into a fresh schema or table."""
    import psycopg
    from pg import postgres_cluster

    header = files[0].open(encoding="utf-8").readline().strip()
    cols = ", ".join(f"{c} text" for c in header.split(","))
    ours, baseline, rows = [], [], 0
    with postgres_cluster() as env:
        os.environ.update(env)
        conninfo = "host={PGHOST} port={PGPORT} user={PGUSER} dbname={PGDATABASE}".format(**env)
        with psycopg.connect(conninfo, autocommit=True) as conn:
            for _ in range(repeat):
                conn.execute("drop schema if exists raw cascade")
                seconds, rows = timed_load(root, PostgresTarget(conninfo))
                ours.append(seconds)
                conn.execute("drop table if exists bare")
                conn.execute(f"create table bare ({cols})")

                def copy_all() -> None:
                    with conn.cursor() as cur:
                        for f in files:
                            with cur.copy("copy bare from stdin (format csv, header true)") as copy, f.open("rb") as fh:
                                while block := fh.read(1 << 20):
                                    copy.write(block)

                seconds, _ = timed(copy_all)
                baseline.append(seconds)
    best, base = min(ours), min(baseline)
    return {
        "rows": rows,
        "carestar_s": best,
        "copy_s": base,
        "ratio": best / base,
        "repeat": repeat,
        "carestar_runs_s": ours,
        "copy_runs_s": baseline,
    }


def bench_memory(gigabytes: float) -> dict:
    """Peak memory of `carestar load` on one CSV file of about `gigabytes`.

    The file repeats the rows of the 1M-encounter sample's first CSV part until it
    is that big (generating tens of millions of fresh encounters would take longer
    than the measurement, and memory does not depend on the values repeating).
    """
    root = DATA / f"big-{gigabytes}gb"
    big = root / "encounters" / "big.csv"
    if not big.exists():
        _, files = encounter_csvs(1_000_000)
        header, _, body = files[0].resolve().read_bytes().partition(b"\n")
        big.parent.mkdir(parents=True, exist_ok=True)
        print(f"writing a {gigabytes:g} GB CSV for the memory run ...", flush=True)
        with big.open("wb") as out:
            out.write(header + b"\n")
            written = 0
            while written < gigabytes * 1e9:
                out.write(body)
                written += len(body)
    db = DATA / "memory.duckdb"
    db.unlink(missing_ok=True)
    # The load runs in a child that reports its own high-water mark (VmHWM). Not ru_maxrss:
    # Linux carries the parent's peak at fork through exec into it, and this process has
    # just held the 10M-encounter runs.
    measure = (
        "import sys\n"
        "from carestar.cli import main\n"
        "code = main(sys.argv[1:])\n"
        "hwm = [l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM:')]\n"
        "print('PEAK_KB', hwm[0], file=sys.stderr)\n"
        "sys.exit(code)\n"
    )
    cmd = [sys.executable, "-c", measure, "load", str(root), "--no-progress"]
    seconds, proc = timed(
        lambda: subprocess.run(cmd, env={**os.environ, "CARESTAR_DUCKDB_PATH": str(db)}, capture_output=True, text=True)
    )
    db.unlink(missing_ok=True)
    peaks = [line.split()[1] for line in proc.stderr.splitlines() if line.startswith("PEAK_KB ")]
    if proc.returncode not in (0, 3) or not peaks:
        raise RuntimeError(f"memory run failed (exit {proc.returncode}): {proc.stderr[-500:]}")
    return {
        "file_bytes": big.resolve().stat().st_size,
        "seconds": seconds,
        "peak_rss_mb": int(peaks[-1]) / 1024,
        "exit_code": proc.returncode,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--encounters", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--memory-gb", type=float, default=0, help="also measure peak memory on a file this big")
    args = parser.parse_args()
    DATA.mkdir(parents=True, exist_ok=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    results: dict = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "runs": [],
    }
    for n in args.encounters:
        root, files = encounter_csvs(n)
        print(f"{n:,} encounters: carestar -> DuckDB vs read_csv ...", flush=True)
        run = {"encounters": n, "duckdb": bench_duckdb(root, files)}
        per_s = run["duckdb"]["rows"] / run["duckdb"]["carestar_s"]
        run["naive"] = bench_naive(files, per_s)
        if not args.skip_postgres:
            print(f"{n:,} encounters: carestar -> PostgreSQL vs COPY ...", flush=True)
            run["postgres"] = bench_postgres(root, files)
        results["runs"].append(run)
    if args.memory_gb:
        results["memory"] = bench_memory(args.memory_gb)
    (RESULTS / "loader.json").write_text(json.dumps(results, indent=2))
    lines = [
        "# Loader benchmark",
        "",
        f"{results['when']}, {results['machine']}. Same files for every column of a row.",
        "",
        f"| encounters | carestar → DuckDB (best of {REPEAT}) | DuckDB read_csv (no validation, best of {REPEAT})"
        " | ratio (goal ≤ 1.5)"
        " | naive rows/s | speed-up over naive (goal ≥ 300)"
        f" | carestar → PostgreSQL (best of {REPEAT}) | bare COPY (best of {REPEAT}) | ratio (goal ≤ 2) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for run in results["runs"]:
        d, nv, pg = run["duckdb"], run["naive"], run.get("postgres")
        pg_cells = f"{pg['carestar_s']:.2f} s | {pg['copy_s']:.2f} s | {pg['ratio']:.2f}" if pg else "- | - | -"
        lines.append(
            f"| {run['encounters']:,} | {d['carestar_s']:.2f} s ({d['rows'] / d['carestar_s']:,.0f} rows/s)"
            f" | {d['read_csv_s']:.2f} s | {d['ratio']:.2f} | {nv['naive_rows_per_s']:,.0f}"
            f" | {nv['speedup']:,.0f}× | {pg_cells} |"
        )
    if "memory" in results:
        m = results["memory"]
        lines += [
            "",
            f"Peak memory loading one {m['file_bytes'] / 1e9:.1f} GB CSV: {m['peak_rss_mb']:.0f} MB (goal < 512 MB),"
            f" {m['seconds']:.1f} s.",
        ]
    lines += [
        "",
        "Both DuckDB times run until the database file is closed: closing checkpoints it, and a",
        "nightly job waits for that too. The PostgreSQL times run until the last commit (and, for",
        "carestar, the close of its connections).",
        "",
        "The naive loader (csv.DictReader, a Python validate per row, executemany in batches of 2,000)",
        f"is timed on the first {NAIVE_SAMPLE_ROWS:,} rows; its rate is the same at any size.",
    ]
    (RESULTS / "loader.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
