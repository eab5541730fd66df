"""AWS Lambda entry point: one scheduled loader run (deploy/template.yaml).

Settings come from the function's environment: CARESTAR_LANDING_URI (s3://bucket/prefix),
CARESTAR_TARGET (postgres by default: a Lambda's disk does not outlive it), CARESTAR_SECRET_ID
(the connection variables), CARESTAR_ALERT_WEBHOOK. Returns the run's counts, no values.
"""

from __future__ import annotations

import os

from carestar.alert import needs_alert, send_failure_alert
from carestar.land import open_target
from carestar.pipeline import load
from carestar.secrets import apply_secret


def handler(event: dict | None = None, context: object = None) -> dict:
    event = event or {}
    apply_secret()
    source = event.get("source") or os.environ["CARESTAR_LANDING_URI"]
    target = open_target(event.get("target") or os.environ.get("CARESTAR_TARGET", "postgres"))
    try:
        report = load(source, target, progress=False).as_dict()
    finally:
        target.close()
    if needs_alert(report["exit_code"], report["files"]["rejected"]):
        send_failure_alert(report)
    return {k: report[k] for k in ("run_id", "status", "exit_code", "files", "rows", "rules")}
