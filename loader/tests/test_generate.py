"""The sample data generator: deterministic, complete, and honest about its bad rows."""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

from carestar.contract import ENTITIES, Rule
from carestar.generate import generate


def _digest(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.md5(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.name.endswith(".gz")
    }


def test_same_seed_same_files(tmp_path):
    generate(tmp_path / "a", 500, seed=3, bad_share=0.05)
    generate(tmp_path / "b", 500, seed=3, bad_share=0.05)
    generate(tmp_path / "c", 500, seed=4, bad_share=0.05)
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    assert _digest(tmp_path / "a") != _digest(tmp_path / "c")


def test_every_entity_in_csv_and_jsonl(tmp_path):
    generate(tmp_path, 2000, seed=1, rows_per_file=300)
    for entity in ENTITIES:
        names = [p.name for p in (tmp_path / entity).rglob("*") if p.is_file()]
        assert any(".csv" in n for n in names), entity
        assert any(".jsonl" in n for n in names), entity


def test_dates_cover_2023_to_2026(tmp_path):
    generate(tmp_path, 3000, seed=1)
    years = set()
    for path in (tmp_path / "encounters").rglob("*.csv"):
        with path.open(encoding="utf-8") as fh:
            years |= {row["encounter_date"][:4] for row in csv.DictReader(fh)}
    assert {"2023", "2024", "2025", "2026"} <= years


def test_generated_bad_rows_are_rejected_with_every_value_rule(tmp_path, run_load, target):
    generate(tmp_path / "land", 6000, seed=11, bad_share=0.08)
    run_load(tmp_path / "land", max_reject_ratio=1.0)
    seen = {r for (r,) in target.con.execute("select distinct rule_code from raw.rejected_rows").fetchall()}
    value_rules = {
        Rule.REQUIRED_MISSING,
        Rule.ID_TOO_LONG,
        Rule.TEXT_TOO_LONG,
        Rule.DATE_INVALID,
        Rule.DATE_OUT_OF_RANGE,
        Rule.DATE_ORDER,
        Rule.TIMESTAMP_INVALID,
        Rule.MONEY_INVALID,
        Rule.MONEY_OUT_OF_RANGE,
        Rule.INT_INVALID,
        Rule.INT_OUT_OF_RANGE,
        Rule.BOOL_INVALID,
        Rule.ENUM_INVALID,
    }
    assert {r.value for r in value_rules} <= seen


def _ids(root: Path, entity: str, column: str) -> set[str]:
    ids = set()
    for path in (root / entity).rglob("*.csv"):
        with path.open(encoding="utf-8") as fh:
            ids |= {row[column] for row in csv.DictReader(fh)}
    return ids


def test_late_batch_names_members_held_back_from_batch_one(tmp_path):
    generate(tmp_path / "b1", 3000, seed=5, late_out=tmp_path / "b2", rows_per_file=100_000)
    held = _ids(tmp_path / "b2", "patients", "patient_id") - _ids(tmp_path / "b1", "patients", "patient_id")
    assert held
    assert held & _ids(tmp_path / "b1", "encounters", "patient_id")
    late_hospitals = _ids(tmp_path / "b2", "hospitals", "hospital_id")
    assert late_hospitals and not late_hospitals & _ids(tmp_path / "b1", "hospitals", "hospital_id")


def test_gzip_every_part_lands_every_row(tmp_path, run_load, target):
    rows = generate(tmp_path / "gz", 2000, seed=2, rows_per_file=300, gzip_every=1)
    parts = [p for p in (tmp_path / "gz").rglob("part-*") if p.is_file()]
    assert parts and all(p.name.endswith(".gz") for p in parts)
    report = run_load(tmp_path / "gz")
    assert report.rows == (sum(rows.values()), sum(rows.values()), 0)
    for entity in ENTITIES:
        assert target.con.execute(f"select count(*) from raw.{entity}").fetchall()[0][0] == rows[entity], entity
