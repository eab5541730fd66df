"""Every mart against a recomputation from the landing files (tests/independent.py), on DuckDB."""

from __future__ import annotations

from decimal import Decimal

import pytest
from conftest import query
from independent import (
    billing_exception_counts,
    encounters_by_region,
    missed_appointments,
    row_counts,
    weekly_denied_claims,
)

from carestar.generate import SAMPLE_AS_OF

pytestmark = pytest.mark.slow


def test_encounters_by_region(built_warehouse, sample_tree):
    got = {
        (r, y): (n, t)
        for r, y, n, t in query(
            built_warehouse, "select Region, Year, EncounterCount, TotalBilling from EncountersByRegion"
        )
    }
    assert got == encounters_by_region([sample_tree[0]])


def test_billing_by_region_diagnosis_adds_up_to_the_fact(built_warehouse):
    (mart,) = query(built_warehouse, "select sum(TotalBilling), sum(EncounterCount) from BillingByRegionDiagnosis")
    (fact,) = query(built_warehouse, "select sum(BillingAmount), count(*) from FactPatientEncounters")
    assert mart == fact


def test_weekly_denied_claims(built_warehouse, sample_tree):
    columns = "WeekStartDate, ProviderGroup, Region, DeniedClaimCount, DeniedAmount, ClaimCount, DenialRate"
    rows = query(built_warehouse, f"select {columns} from WeeklyDeniedClaims")
    got = {(w, g, r): (d, a, c) for w, g, r, d, a, c, _ in rows}
    assert got == weekly_denied_claims([sample_tree[0]])
    assert all(w.weekday() == 0 for w, *_ in rows)
    assert all(abs(rate - Decimal(d) / c) < Decimal("0.00005") for *_, d, _, c, rate in rows)
    assert any(d == 0 for _, _, _, d, *_ in rows)  # weeks without denials are rows of zeros


def test_provider_missed_appointments(built_warehouse, sample_tree):
    rows = query(
        built_warehouse,
        "select p.SourceProviderID, m.MissedAppointments, m.MissedRank, m.AsOfDate"
        " from ProviderMissedAppointments m join DimProvider p on m.ProviderID = p.ProviderID",
    )
    assert rows, "the sample has missed appointments in the last 30 days"
    as_of = rows[0][3]
    assert as_of == SAMPLE_AS_OF
    assert {p: (n, r) for p, n, r, _ in rows} == missed_appointments([sample_tree[0]], as_of)


def test_billing_exceptions(built_warehouse, sample_tree):
    got = dict(query(built_warehouse, "select RuleCode, count(*) from BillingExceptions group by RuleCode"))
    expected = billing_exception_counts([sample_tree[0]], SAMPLE_AS_OF)
    assert got == expected
    assert {"BE01", "BE03", "BE04", "BE05", "BE06"} <= set(got)


def test_load_quality_matches_the_files(built_warehouse, sample_tree):
    totals = (
        "select Entity, sum(RowsRead), sum(RowsLanded), sum(RowsRejected) from LoadQuality where RuleCode = '(all)'"
    )
    got = {entity: counts for entity, *counts in query(built_warehouse, totals + " group by Entity")}
    got = {entity: tuple(counts) for entity, counts in got.items()}
    assert got == row_counts([sample_tree[0]])
    by_rule = query(built_warehouse, "select sum(RowsRejected) from LoadQuality where RuleCode not in ('(all)')")[0][0]
    assert by_rule >= sum(j for _, _, j in got.values())  # a row breaking two rules counts under both
