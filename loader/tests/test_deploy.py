"""Deployment: the SAM template passes cfn-lint, its IAM role is scoped, and the Lambda handler runs a load."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from conftest import REPO, write

TEMPLATE = REPO / "deploy" / "template.yaml"


def _cfn_lint(path: Path) -> subprocess.CompletedProcess:
    exe = shutil.which("cfn-lint", path=str(Path(sys.executable).parent)) or "cfn-lint"
    return subprocess.run([exe, str(path)], capture_output=True, text=True)


def test_template_passes_cfn_lint():
    result = _cfn_lint(TEMPLATE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_cfn_lint_catches_a_broken_template(tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text(TEMPLATE.read_text().replace("Timeout: 900", "Timeout: 9000"))  # above Lambda's 15 minutes
    assert _cfn_lint(broken).returncode != 0


def test_iam_role_is_scoped_to_the_landing_prefix_and_the_secret():
    text = TEMPLATE.read_text()
    assert "s3:*" not in text and '"*"' not in text and "Resource: '*'" not in text
    assert "${LandingBucket}/${LandingPrefix}/*" in text and "Resource: !Ref SecretArn" in text


def test_lambda_handler_runs_one_load(tmp_path, monkeypatch):
    from carestar.lambda_handler import handler

    write(tmp_path / "land", "patients/p.csv", "patient_id,first_name\nP1,Ann\n")
    monkeypatch.setenv("CARESTAR_LANDING_URI", str(tmp_path / "land"))
    monkeypatch.setenv("CARESTAR_TARGET", "duckdb")
    monkeypatch.setenv("CARESTAR_DUCKDB_PATH", str(tmp_path / "w.duckdb"))
    monkeypatch.delenv("CARESTAR_SECRET_ID", raising=False)
    result = handler({}, None)
    assert result["status"] == "succeeded" and result["rows"]["landed"] == 1
    assert "Ann" not in str(result)
