"""The committed seeds are exactly what `carestar seeds` makes from the pinned libraries."""

from __future__ import annotations

import csv
from pathlib import Path

from carestar.seeds import CHAPTER_SHORT_NAMES, write_seeds

SEEDS = Path(__file__).resolve().parents[2] / "seeds"


def test_committed_seeds_match_the_libraries(tmp_path):
    write_seeds(tmp_path)
    for name in ("icd10cm_codes.csv", "us_federal_holidays.csv", "state_regions.csv"):
        assert (tmp_path / name).read_bytes() == (SEEDS / name).read_bytes(), f"seeds/{name} is stale: run make seeds"


def test_icd_seed_fits_the_warehouse_widths():
    with (SEEDS / "icd10cm_codes.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) > 70_000
    assert max(len(r["diagnosis_code"]) for r in rows) <= 10
    assert max(len(r["description"]) for r in rows) <= 200
    assert any(r["description"].endswith("...") for r in rows)  # the long ones were cut
    assert {r["category"] for r in rows} == set(CHAPTER_SHORT_NAMES.values())
    assert max(len(c) for c in CHAPTER_SHORT_NAMES.values()) <= 50


def test_holidays_include_observed_dates():
    with (SEEDS / "us_federal_holidays.csv").open(encoding="utf-8") as fh:
        days = {r["holiday_date"]: r["holiday_name"] for r in csv.DictReader(fh)}
    assert days["2026-07-03"].startswith("Independence Day")  # July 4th 2026 is a Saturday
    assert days["2025-06-19"].startswith("Juneteenth")


def test_contract_docs_are_current():
    from carestar.contract_docs import render

    page = (SEEDS.parent / "docs" / "landing-contract.md").read_text(encoding="utf-8")
    assert page == render(), "docs/landing-contract.md is stale: run carestar contract-docs"
