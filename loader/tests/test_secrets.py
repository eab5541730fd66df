"""Connection settings from an AWS Secrets Manager secret (moto's server), never printed."""

from __future__ import annotations

import json

import boto3
import pytest
from conftest import write

from carestar.cli import main
from carestar.secrets import SecretError, apply_secret


def test_load_reads_its_connection_from_a_secret(aws, tmp_path, monkeypatch, capsys):
    db = tmp_path / "from-secret.duckdb"
    monkeypatch.setenv("CARESTAR_DUCKDB_PATH", str(tmp_path / "wrong.duckdb"))
    client = boto3.client("secretsmanager")
    client.create_secret(
        Name="carestar/test", SecretString=json.dumps({"CARESTAR_DUCKDB_PATH": str(db), "PGPASSWORD": "s3cr3t-pw"})
    )
    write(tmp_path / "land", "patients/p.csv", "patient_id\nP1\n")
    assert main(["load", str(tmp_path / "land"), "--no-progress", "--secret-id", "carestar/test"]) == 0
    assert db.exists() and not (tmp_path / "wrong.duckdb").exists()
    out = capsys.readouterr()
    assert "s3cr3t-pw" not in out.out + out.err


def test_a_secret_with_foreign_keys_is_refused(aws, monkeypatch):
    boto3.client("secretsmanager").create_secret(
        Name="carestar/odd", SecretString=json.dumps({"AWS_SECRET_ACCESS_KEY": "x"})
    )
    with pytest.raises(SecretError, match="does not use: AWS_SECRET_ACCESS_KEY"):
        apply_secret("carestar/odd")


def test_a_missing_secret_is_a_clear_error(aws):
    with pytest.raises(SecretError, match="cannot read secret carestar/none: ResourceNotFoundException"):
        apply_secret("carestar/none")
