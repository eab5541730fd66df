"""carestar's command line: generate sample data, write seeds, load files, summarize."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from datetime import date
from pathlib import Path

from carestar import DEFAULT_JOBS, TARGETS, __version__


def _cmd_generate(args: argparse.Namespace) -> int:
    from carestar.generate import generate

    counts = generate(
        Path(args.out),
        args.encounters,
        seed=args.seed,
        bad_share=args.bad_share,
        late_out=Path(args.late_out) if args.late_out else None,
        rows_per_file=args.rows_per_file,
    )
    for entity, n in counts.items():
        print(f"{entity:<20} {n:>12,}")
    return 0


def _cmd_seeds(args: argparse.Namespace) -> int:
    from carestar.seeds import write_seeds

    for path, n in write_seeds(Path(args.out)).items():
        print(f"{path}: {n:,} rows")
    return 0


def _cmd_contract_docs(args: argparse.Namespace) -> int:
    from carestar.contract_docs import render

    Path(args.out).write_text(render(), encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


def _cmd_load(args: argparse.Namespace) -> int:
    from carestar.alert import needs_alert, send_failure_alert
    from carestar.land import TargetConfigError, open_target
    from carestar.pipeline import load, safe_message
    from carestar.secrets import SecretError, apply_secret

    if not 0 <= args.max_reject_ratio <= 1:
        print("error: --max-reject-ratio must be between 0 and 1", file=sys.stderr)
        return 2
    if args.jobs < 1:
        print("error: --jobs must be 1 or more", file=sys.stderr)
        return 2
    try:
        since = date.fromisoformat(args.since) if args.since else None
        until = date.fromisoformat(args.until) if args.until else None
    except ValueError:
        print("error: --since and --until take dates as YYYY-MM-DD", file=sys.stderr)
        return 2
    try:
        apply_secret(args.secret_id)
    except SecretError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    try:
        target = open_target(args.target)
    except TargetConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # a driver's connection error may quote settings: never print it whole
        print(f"error: cannot connect to {args.target}: {type(exc).__name__}: {safe_message(exc)}", file=sys.stderr)
        return 1
    try:
        report = load(
            args.source,
            target,
            max_reject_ratio=args.max_reject_ratio,
            dry_run=args.dry_run,
            progress=False if args.no_progress else None,
            since=since,
            until=until,
            jobs=args.jobs,
        )
    finally:
        target.close()
    data = report.as_dict()
    if needs_alert(report.exit_code, data["files"]["rejected"]):
        send_failure_alert(data)
    if args.report:
        Path(args.report).write_text(json.dumps(data, indent=2, default=str))
    files, rows = data["files"], data["rows"]
    print(
        f"{'dry run' if args.dry_run else 'load'} {data['status']}: files landed {files['landed']},"
        f" rejected {files['rejected']}, failed {files['failed']}, already loaded {files['skipped_already_loaded']};"
        f" rows read {rows['read']:,}, landed {rows['landed']:,}, rejected {rows['rejected']:,}"
    )
    for rule, n in sorted(data["rules"].items(), key=lambda kv: -kv[1]):
        print(f"  {rule:<28} {n:>10,}")
    return report.exit_code


def _cmd_run(args: argparse.Namespace) -> int:
    from carestar.job import job_text, run_job
    from carestar.land import TargetConfigError
    from carestar.secrets import SecretError, apply_secret

    try:
        apply_secret(args.secret_id)
    except SecretError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    dbt_args = ["--vars", args.vars] if args.vars else []
    try:
        code, summary = run_job(args.source, args.target, Path(args.project_dir), dbt_args, args.max_reject_ratio)
    except TargetConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.report:
        Path(args.report).write_text(json.dumps(summary, indent=2, default=str))
    print(job_text(summary).replace(":rotating_light: ", "") if code else _ok_text(summary))
    return code


def _ok_text(summary: dict) -> str:
    load, dbt = summary["load"], summary["dbt"]
    return (
        f"run succeeded: files landed {load['files']['landed']},"
        f" already loaded {load['files']['skipped_already_loaded']};"
        f" rows landed {load['rows']['landed']:,}, rejected {load['rows']['rejected']:,};"
        f" dbt: {dbt['models_built']} models built, {dbt['tests_passed']} tests passed"
        + (f"; stale sources: {', '.join(dbt['stale_sources'])}" if dbt["stale_sources"] else "")
    )


def _cmd_summary(args: argparse.Namespace) -> int:
    from carestar.summary import print_summary

    return print_summary()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="carestar",
        description="Land hospital data files in a warehouse's raw schema, exactly once, every row accounted for.",
    )
    parser.add_argument("--version", action="version", version=f"carestar {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log each file (names and counts only)")
    sub = parser.add_subparsers(dest="command", required=True)

    g = sub.add_parser("generate", help="write a sample landing tree (deterministic per seed)")
    g.add_argument("--out", required=True, help="folder to write <entity>/batch=001/part-N.csv|.jsonl into")
    g.add_argument("--encounters", type=int, default=20_000, help="number of encounters (default 20000)")
    g.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    g.add_argument("--bad-share", type=float, default=0.0, help="share of rows given one bad value (e.g. 0.02)")
    g.add_argument("--late-out", help="also write a later batch here: corrections, old dates, late members")
    g.add_argument("--rows-per-file", type=int, default=250_000, help="rows per file (default 250000)")
    g.set_defaults(func=_cmd_generate)

    s = sub.add_parser("seeds", help="write the dbt seeds made from kept libraries (ICD-10-CM, US holidays)")
    s.add_argument("--out", default="seeds", help="seeds folder (default seeds)")
    s.set_defaults(func=_cmd_seeds)

    cd = sub.add_parser("contract-docs", help="write docs/landing-contract.md from the contract module")
    cd.add_argument("--out", default="docs/landing-contract.md")
    cd.set_defaults(func=_cmd_contract_docs)

    ld = sub.add_parser(
        "load",
        help="validate and land every new file under SOURCE",
        description="Exit codes: 0 all landed, 3 some rows or files rejected, 1 a file failed, 2 usage error.",
    )
    ld.add_argument("source", help="landing root: a local folder or s3://bucket/prefix")
    ld.add_argument(
        "--target",
        default="duckdb",
        choices=TARGETS,
        help="warehouse (default duckdb); connection settings from the environment, as profiles/profiles.yml",
    )
    ld.add_argument(
        "--max-reject-ratio",
        type=float,
        default=0.25,
        help="reject a whole file when more than this share of its rows is rejected (default 0.25)",
    )
    ld.add_argument(
        "--secret-id", help="AWS Secrets Manager secret holding the connection variables (or CARESTAR_SECRET_ID)"
    )
    ld.add_argument("--dry-run", action="store_true", help="validate and report; land nothing")
    ld.add_argument(
        "--jobs",
        type=int,
        default=DEFAULT_JOBS,
        help=f"files landed at once on DuckDB and PostgreSQL, each in its own transaction (default {DEFAULT_JOBS});"
        " SQL Server and Redshift land one file at a time",
    )
    ld.add_argument(
        "--since", help="only files dated on or after YYYY-MM-DD (partition date in the path, else object time)"
    )
    ld.add_argument("--until", help="only files dated on or before YYYY-MM-DD")
    ld.add_argument("--report", help="write a JSON run report to this file")
    ld.add_argument("--no-progress", action="store_true", help="no progress bar")
    ld.set_defaults(func=_cmd_load)

    rn = sub.add_parser(
        "run",
        help="the nightly job: load SOURCE, then dbt build, then a summary (one exit code)",
        description="Exit codes: 0 ok, 3 some rows or files rejected, 1 a load or dbt failure.",
    )
    rn.add_argument("source", help="landing root: a local folder or s3://bucket/prefix")
    rn.add_argument("--target", default="duckdb", choices=TARGETS, help="warehouse (default duckdb)")
    rn.add_argument("--project-dir", default=".", help="the dbt project (default: the current folder)")
    rn.add_argument("--vars", help="dbt --vars, e.g. \"{as_of_date: '2026-11-25'}\"")
    rn.add_argument("--max-reject-ratio", type=float, default=0.25)
    rn.add_argument("--secret-id", help="AWS Secrets Manager secret holding the connection variables")
    rn.add_argument("--report", help="write the job's JSON summary to this file")
    rn.set_defaults(func=_cmd_run)

    sm = sub.add_parser("summary", help="print rows per table, rejects by rule and the acceptance query (DuckDB)")
    sm.set_defaults(func=_cmd_summary)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
