"""Failure alerts to a Slack-compatible webhook (CARESTAR_ALERT_WEBHOOK).

The message carries the run id, counts, rule and error codes and file names:
never a value from a file (PHI). A webhook that cannot be reached is logged,
never raised: the run's own exit code already says it failed.
"""

from __future__ import annotations

import json
import logging
import os
import urllib.request

log = logging.getLogger("carestar.alert")


def needs_alert(exit_code: int, files_refused: int) -> bool:
    """A failure, or a file refused whole, pages someone; rejected rows alone are the steward's
    daily work (LoadQuality), not an alert."""
    from carestar.pipeline import EXIT_FAILED

    return exit_code == EXIT_FAILED or files_refused > 0


def failure_text(report: dict) -> str:
    files, rows = report["files"], report["rows"]
    lines = [
        f":rotating_light: carestar load {report['status']} (run {report['run_id']}, target {report['target']})",
        f"files: {files['landed']} landed, {files['rejected']} refused, {files['failed']} failed;"
        f" rows: {rows['read']:,} read, {rows['landed']:,} landed, {rows['rejected']:,} rejected",
    ]
    bad = [f for f in report["per_file"] if f["state"] in ("failed", "rejected")]
    for f in bad[:10]:
        lines.append(f"- {f['state']} {f['uri']} ({f['error_code']})")
    if len(bad) > 10:
        lines.append(f"- and {len(bad) - 10} more")
    lines.append("Where to look: raw.load_ledger where run_id = '" + report["run_id"] + "' and state <> 'landed'")
    return "\n".join(lines)


def send_failure_alert(report: dict, url: str | None = None, timeout: float = 10.0) -> bool:
    """POST a load's failure alert if a webhook is configured; True when it was delivered."""
    return post(failure_text(report), url, timeout)


def post(text: str, url: str | None = None, timeout: float = 10.0) -> bool:
    """POST `text` as a Slack-compatible message if a webhook is configured; True when delivered."""
    url = url or os.environ.get("CARESTAR_ALERT_WEBHOOK")
    if not url:
        return False
    body = json.dumps({"text": text}).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return 200 <= response.status < 300
    except OSError as exc:
        log.error("alert webhook not reached: %s", type(exc).__name__)
        return False
