"""Loading from S3: moto's server over HTTP on 127.0.0.1, boto3 pointed at it through AWS_ENDPOINT_URL."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest

from carestar.pipeline import load

BUCKET = "landing"


@pytest.fixture
def s3(aws):
    client = boto3.client("s3")
    client.create_bucket(Bucket=BUCKET)
    yield client
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
        for obj in page.get("Contents", []):
            client.delete_object(Bucket=BUCKET, Key=obj["Key"])
    client.delete_bucket(Bucket=BUCKET)


def _upload(client, root: Path, prefix: str) -> int:
    n = 0
    for path in sorted(root.rglob("*")):
        if path.is_file():
            client.upload_file(str(path), BUCKET, f"{prefix}/{path.relative_to(root).as_posix()}")
            n += 1
    return n


def test_s3_lands_what_a_local_folder_lands(s3, sample_tree, run_load, tmp_path):
    _upload(s3, sample_tree[0], "hospital-a")
    from_s3 = run_load(f"s3://{BUCKET}/hospital-a")
    from carestar.land import DuckDBTarget

    local_target = DuckDBTarget(str(tmp_path / "local.duckdb"))
    try:
        local = load(str(sample_tree[0]), local_target, progress=False)
    finally:
        local_target.close()
    assert from_s3.rows == local.rows and from_s3.rows[1] > 0
    assert all(f.source_uri.startswith(f"s3://{BUCKET}/hospital-a/") for f in from_s3.files)
    assert any(f.source_uri.endswith(".gz") for f in from_s3.files)
    again = run_load(f"s3://{BUCKET}/hospital-a")
    assert again.files == [] and again.skipped == len(from_s3.files)


def test_s3_pagination_past_1000_keys(s3, run_load, target):
    body = b"hospital_id,state\nH1,NY\n"
    for i in range(1005):
        s3.put_object(Bucket=BUCKET, Key=f"many/hospitals/day={i:04d}/h.csv", Body=body)
    report = run_load(f"s3://{BUCKET}/many")
    assert len(report.files) == 1005
    assert target.fetchall("select count(*) from raw.hospitals") == [(1005,)]


def test_s3_changed_object_supersedes(s3, run_load, target):
    key = "changing/patients/p.csv"
    s3.put_object(Bucket=BUCKET, Key=key, Body=b"patient_id,first_name\nP1,Ann\nP2,Bob\n")
    run_load(f"s3://{BUCKET}/changing")
    s3.put_object(Bucket=BUCKET, Key=key, Body=b"patient_id,first_name\nP1,Anna\n")
    (result,) = run_load(f"s3://{BUCKET}/changing").files
    assert result.superseded is not None
    assert target.fetchall("select patient_id, first_name from raw.patients") == [("P1", "Anna")]
