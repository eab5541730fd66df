"""The nightly job as one command: load, then dbt build, then one summary and one exit code.

    carestar run SOURCE --target duckdb|postgres|sqlserver|redshift

Exit codes as for `carestar load` (0 ok, 3 rows or files rejected, 1 failure), where a dbt
error or failed test is a failure. On failure one alert goes to CARESTAR_ALERT_WEBHOOK naming
what failed, where to look and which dashboards are affected (the exposures downstream of
what failed, from dbt's graph). Counts, codes and names only: no value from a file.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter, deque
from pathlib import Path

from carestar.alert import failure_text, needs_alert, post
from carestar.land import open_target
from carestar.pipeline import EXIT_FAILED, EXIT_OK, EXIT_PARTIAL, load

FAILED_STATUSES = {"error", "fail", "runtime error"}


def affected_exposures(manifest: dict, failed_nodes: list[str]) -> list[str]:
    """Labels of the exposures downstream of any failed node."""
    children = manifest.get("child_map", {})
    seen, queue, found = set(failed_nodes), deque(failed_nodes), set()
    while queue:
        for child in children.get(queue.popleft(), []):
            if child.startswith("exposure."):
                exposure = manifest["exposures"][child]
                found.add(exposure.get("label") or exposure["name"])
            elif child not in seen:
                seen.add(child)
                queue.append(child)
    return sorted(found)


def stale_sources(path: Path) -> list[str]:
    """Sources whose freshness check warned or failed (dbt source freshness's sources.json)."""
    if not path.exists():
        return []
    results = json.loads(path.read_text()).get("results", [])
    return sorted(
        r["unique_id"].split(".", 2)[2] for r in results if r.get("status") in ("warn", "error", "runtime error")
    )


def _dbt_executable() -> str:
    beside = Path(sys.executable).parent / "dbt"
    return str(beside) if beside.exists() else "dbt"


def run_job(
    source: str,
    target_name: str,
    project_dir: Path,
    dbt_args: list[str] | None = None,
    max_reject_ratio: float = 0.25,
) -> tuple[int, dict]:
    target = open_target(target_name)
    try:
        report = load(source, target, max_reject_ratio=max_reject_ratio, progress=False).as_dict()
    finally:
        target.close()

    args = list(dbt_args or [])
    target_path = Path(os.environ.get("DBT_TARGET_PATH") or "target")
    if "--target-path" in args:
        target_path = Path(args[args.index("--target-path") + 1])
    if not target_path.is_absolute():
        target_path = project_dir / target_path
    (target_path / "run_results.json").unlink(missing_ok=True)  # never report an earlier build
    env = {**os.environ, "CARESTAR_TARGET": target_name}
    env.setdefault("DBT_PROFILES_DIR", str(project_dir / "profiles"))
    build = subprocess.run(
        [_dbt_executable(), "build", "--project-dir", str(project_dir), *args],
        env=env,
        capture_output=True,
        text=True,
    )
    results = (
        json.loads((target_path / "run_results.json").read_text())
        if (target_path / "run_results.json").exists()
        else {}
    )
    statuses: Counter[str] = Counter()
    failed: list[str] = []
    for r in results.get("results", []):
        kind = r["unique_id"].split(".", 1)[0]
        statuses[f"{kind}:{r['status']}"] += 1
        if r["status"] in FAILED_STATUSES:
            failed.append(r["unique_id"])
    manifest = (
        json.loads((target_path / "manifest.json").read_text()) if (target_path / "manifest.json").exists() else {}
    )
    (target_path / "sources.json").unlink(missing_ok=True)
    # the build's vars too: dbt then reuses the build's parse of the project (target/partial_parse.msgpack)
    subprocess.run(
        [_dbt_executable(), "source", "freshness", "--project-dir", str(project_dir), *args],
        env=env,
        capture_output=True,
        text=True,
    )
    stale = stale_sources(target_path / "sources.json")
    freshness_checked = (target_path / "sources.json").exists()
    summary = {
        "load": report,
        "dbt": {
            "exit_code": build.returncode,
            "models_built": statuses["model:success"],
            "tests_passed": statuses["test:pass"] + statuses["unit_test:pass"],
            "tests_failed": statuses["test:fail"] + statuses["unit_test:fail"],
            "errors": sum(n for key, n in statuses.items() if key.endswith(":error")),
            "failed_nodes": failed,
            "affected_dashboards": affected_exposures(manifest, failed) if manifest else [],
            "stale_sources": stale,
            "freshness_checked": freshness_checked,
        },
    }
    if report["exit_code"] == EXIT_FAILED or build.returncode != 0:
        code = EXIT_FAILED
    elif report["exit_code"] == EXIT_PARTIAL:
        code = EXIT_PARTIAL
    else:
        code = EXIT_OK
    summary["exit_code"] = code
    if needs_alert(code, report["files"]["rejected"]):
        post(job_text(summary))
    return code, summary


def job_text(summary: dict) -> str:
    dbt = summary["dbt"]
    lines = [failure_text(summary["load"])]
    lines.append(
        f"dbt build: {dbt['models_built']} models built, {dbt['tests_passed']} tests passed,"
        f" {dbt['tests_failed']} tests failed, {dbt['errors']} errors"
    )
    for node in dbt["failed_nodes"][:10]:
        lines.append(f"- failed {node}")
    if dbt["failed_nodes"]:
        lines.append("Where to look: select * from dbt_run_audit where status in ('error', 'fail')")
    if dbt["affected_dashboards"]:
        lines.append("Dashboards affected: " + ", ".join(dbt["affected_dashboards"]))
    if dbt.get("stale_sources"):
        lines.append("Source freshness warnings: " + ", ".join(dbt["stale_sources"]))
    return "\n".join(lines)
