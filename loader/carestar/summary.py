"""A short, PHI-free summary of the DuckDB warehouse for a person: counts, rule codes, figures."""

from __future__ import annotations

from pathlib import Path

import duckdb

from carestar.contract import ENTITIES
from carestar.land import duckdb_path

STAR = ("DimDate", "DimPatient", "DimProvider", "DimHospital", "DimDiagnosis", "FactPatientEncounters")

ACCEPTANCE_QUERY = """SELECT h.Region, d.DiagnosisDescription, SUM(f.BillingAmount) AS TotalBilling
FROM FactPatientEncounters f
JOIN DimHospital h ON f.HospitalID = h.HospitalID
JOIN DimDiagnosis d ON f.DiagnosisID = d.DiagnosisID
WHERE f.DateID IN (SELECT DateID FROM DimDate WHERE Year = 2025)
GROUP BY h.Region, d.DiagnosisDescription;"""

# Marts are printed when they exist (a few lines each).
MART_PREVIEWS: dict[str, str] = {
    "EncountersByRegion": "select Region, Year, EncounterCount, TotalBilling from EncountersByRegion"
    " where Year = 2025 order by TotalBilling desc",
    "WeeklyDeniedClaims (latest week)": "select WeekStartDate, ProviderGroup, Region, DeniedClaimCount, DeniedAmount,"
    " ClaimCount, DenialRate from WeeklyDeniedClaims"
    " where WeekStartDate = (select max(WeekStartDate) from WeeklyDeniedClaims)"
    " order by DenialRate desc, ProviderGroup limit 5",
    "ProviderMissedAppointments": "select AsOfDate, ProviderID, ProviderName, MissedAppointments, MissedRank"
    " from ProviderMissedAppointments order by MissedRank, ProviderID",
    "BillingExceptions by rule": "select RuleCode, RuleDescription, count(*) as Records, sum(Amount) as Amount"
    " from BillingExceptions group by RuleCode, RuleDescription order by RuleCode",
    "LoadQuality (totals)": "select LoadDate, Entity, Files, RowsRead, RowsLanded, RowsRejected from LoadQuality"
    " where RuleCode = '(all)' order by LoadDate desc, Entity limit 7",
}


def _table(headers: list[str], rows: list[tuple], width: int = 60) -> str:
    # counts get thousands separators; years and ids do not
    plain = [h == "Year" or h.endswith("ID") for h in headers]

    def cell(v: object, is_plain: bool) -> str:
        text = f"{v:,}" if isinstance(v, int) and not is_plain else str(v)
        return text[:width]

    widths = [
        max(len(h), *(len(cell(r[i], plain[i])) for r in rows)) if rows else len(h) for i, h in enumerate(headers)
    ]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(cell(v, p).ljust(w) for v, p, w in zip(r, plain, widths, strict=True)) for r in rows]
    return "\n".join(lines)


def _exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return bool(
        con.execute(
            "select count(*) from information_schema.tables where lower(table_name) = lower(?)", [name]
        ).fetchall()[0][0]
    )


def print_summary(path: str | None = None) -> int:
    path = path or duckdb_path()
    if not Path(path).exists():
        print(f"error: no warehouse at {path} (set CARESTAR_DUCKDB_PATH, or run carestar load and dbt build)")
        return 1
    con = duckdb.connect(path, read_only=True)
    try:
        raw = [(e, con.execute(f"select count(*) from raw.{e}").fetchall()[0][0]) for e in ENTITIES]
        print("Raw rows landed")
        print(_table(["entity", "rows"], raw))
        print()
        star = [(t, con.execute(f"select count(*) from {t}").fetchall()[0][0]) for t in STAR if _exists(con, t)]
        print("Star schema")
        print(_table(["relation", "rows"], star))
        print()
        rules = con.execute(
            "select rule_code, count(distinct load_id || ':' || line) as rows_rejected, count(*) as broken_rules"
            " from raw.rejected_rows group by rule_code order by rows_rejected desc"
        ).fetchall()
        files = con.execute(
            "select state, count(*), coalesce(sum(rows_read), 0), coalesce(sum(rows_landed), 0),"
            " coalesce(sum(rows_rejected), 0) from raw.load_ledger group by state order by state"
        ).fetchall()
        print("Files by state (ledger)")
        print(_table(["state", "files", "rows read", "landed", "rejected"], files))
        print()
        print("Rejected rows by reason")
        print(_table(["rule", "rows", "broken rules"], rules) if rules else "(none)")
        print()
        if _exists(con, "FactPatientEncounters"):
            rows = con.execute(ACCEPTANCE_QUERY.rstrip(";") + " ORDER BY TotalBilling DESC LIMIT 10").fetchall()
            print("Acceptance query (Year = 2025), top 10 by TotalBilling")
            print(_table(["Region", "DiagnosisDescription", "TotalBilling"], rows))
            print()
        for name, sql in MART_PREVIEWS.items():
            if _exists(con, name.split(" ")[0]):
                print(name)
                cur = con.execute(sql)
                print(_table([d[0] for d in cur.description], cur.fetchall()))
                print()
    finally:
        con.close()
    return 0
