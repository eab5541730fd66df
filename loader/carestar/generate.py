"""Sample landing data: every entity of the contract, CSV and JSONL, deterministic per seed.

Rows are made in chunks with numpy and written with pyarrow (CSV) and DuckDB
(JSONL), so 10 million encounters stream through a few hundred MB. Bad values
come from the contract itself (one broken rule per bad row), so every value
rejection kind the contract names shows up.

A second, later batch (`late_out`) holds what arrives after the first:
corrections (same keys, newer updated_at), encounters for old dates, and the
patients, providers and hospital that first-batch encounters already named.
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import BinaryIO

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from carestar.contract import ENTITIES, ID_MAX_LENGTH, STATE_REGIONS, Column, Kind

CHUNK = 100_000
SPAN_START = date(2023, 1, 1)
SPAN_END = date(2026, 11, 20)
# The "today" of the sample: appointments run up to here, and reports on the
# sample (var as_of_date) use it so their figures do not depend on the run date.
SAMPLE_AS_OF = SPAN_END + timedelta(days=5)
BATCH1_UPDATED = "2026-11-01T02:00:00Z"
BATCH2_UPDATED = "2026-11-21T02:00:00Z"

FIRST_NAMES = (
    "James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara Richard Susan "
    "Joseph Jessica Thomas Sarah Charles Karen Christopher Lisa Daniel Nancy Matthew Betty Anthony Sandra "
    "Mark Margaret Donald Ashley Steven Kimberly Andrew Emily Paul Donna Joshua Michelle Kenneth Carol "
    "Kevin Amanda Brian Melissa George Deborah Timothy Stephanie Ronald Rebecca Jason Sharon Edward Laura "
    "Jeffrey Cynthia Ryan Dorothy Jacob Amy Gary Kathleen Nicholas Angela Eric Shirley Jonathan Emma "
    "Stephen Brenda Larry Pamela Justin Nicole Scott Anna Brandon Samantha Benjamin Katherine Samuel "
    "Christine José Zoë Nguyễn Søren Aoife François Chloé Björn Mũi Anaïs"
).split()
LAST_NAMES = (
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez "
    "Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark "
    "Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill Flores Green Adams "
    "Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts Gomez Phillips Evans Turner Diaz Parker "
    "Cruz Edwards Collins Reyes Stewart Morris Morales Murphy Cook Rogers Gutierrez Ortiz Morgan Cooper "
    "Peterson Bailey Reed Kelly Howard Ramos Kim Cox Ward Richardson Watson Brooks Chavez Wood James "
    "Bennett Gray Mendoza Ruiz Hughes O'Brien D'Angelo Müller Øvergård Peña Łukasiewicz"
).split()
CITIES = (
    "Springfield Riverside Fairview Franklin Greenville Madison Georgetown Salem Clinton Arlington "
    "Ashland Burlington Manchester Milton Newport Oxford Dayton Lexington Auburn Bristol Dover Hudson "
    "Kingston Lancaster Marion"
).split()
HOSPITAL_KINDS = ("General Hospital", "Medical Center", "Regional Hospital", "Community Hospital")
FACILITY_TYPES = (
    "Acute Care Hospital",
    "Critical Access Hospital",
    "Children's Hospital",
    "Psychiatric Hospital",
    "Rehabilitation Hospital",
    "Ambulatory Surgery Center",
)
SPECIALTIES = (
    "Family Medicine",
    "Internal Medicine",
    "Pediatrics",
    "Cardiology",
    "Orthopedic Surgery",
    "Emergency Medicine",
    "Obstetrics and Gynecology",
    "Psychiatry",
    "Neurology",
    "Oncology",
    "Dermatology",
    "Gastroenterology",
    "Pulmonology",
    "Endocrinology",
    "General Surgery",
)
PROVIDER_GROUPS = (
    "Northeast Physicians Alliance",
    "Lakeshore Medical Group",
    "Sunbelt Health Partners",
    "Pacific Care Associates",
    "Mountain West Clinicians",
    "Heartland Provider Network",
    "Coastal Specialty Group",
    "Capital Area Physicians",
    "Prairie Medical Associates",
    "Bayview Health Group",
)
# One state per entry, cycling so that every Census region has hospitals.
HOSPITAL_STATES = ("NY", "TX", "IL", "CA", "MA", "FL", "OH", "WA", "PA", "GA", "MN", "AZ", "NJ", "NC", "MI", "CO")
PAYERS = ("Medicare", "Medicaid", "Blue Cross Blue Shield", "Aetna", "UnitedHealthcare", "Cigna", "Humana", "Self-pay")
CARC_CODES = ("CO-197", "CO-16", "CO-50", "CO-97", "PR-1", "CO-29", "CO-18", "CO-4", "CO-11", "197", "16", "CO-45")
CLAIM_STATUSES = ("paid", "partially_paid", "denied", "pending", "submitted")
CLAIM_STATUS_P = (0.70, 0.08, 0.11, 0.06, 0.05)
LOCAL_CODES = (
    ("LOC001", "Observation stay, no diagnosis recorded", "Local codes"),
    ("LOC002", "Administrative visit", "Local codes"),
)


@dataclass
class Sizes:
    encounters: int
    hospitals: int
    providers: int
    patients: int
    appointments: int

    @classmethod
    def for_encounters(cls, n: int) -> Sizes:
        return cls(
            encounters=n,
            hospitals=min(200, max(16, n // 5_000)),
            providers=min(20_000, max(40, n // 250)),
            patients=max(100, n // 3),
            appointments=max(50, int(n * 0.6)),
        )


def diagnosis_pool(size: int = 600) -> list[str]:
    """A deterministic spread of billable ICD-10-CM codes (with dots).

    The code set library holds ~200 MB once imported, so the codes are listed
    by a short-lived child process and the generator itself stays small.
    """
    script = (
        "import simple_icd_10_cm as cm\nprint('\\n'.join(c for c in cm.get_all_codes(with_dots=True) if cm.is_leaf(c)))"
    )
    listed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    leaves = listed.stdout.split()
    step = max(1, len(leaves) // size)
    common = ["I10", "E11.9", "J06.9", "Z00.00", "M54.50", "R51.9", "E78.5", "F41.1", "J45.909", "N39.0"]
    return common + [c for c in leaves[::step] if c not in common][: size - len(common)]


# ---------------------------------------------------------------- bad values
def bad_values(col: Column) -> list[str]:
    """Values that break exactly one rule of `col`, from the contract's own terms."""
    out: list[str] = []
    if col.required:
        out.append("")
    if col.kind is Kind.ID:
        out.append("X" * (ID_MAX_LENGTH + 1))
    elif col.kind is Kind.TEXT:
        out.append("Z" * (col.width + 1))  # type: ignore[operator]
        if col.code_set:
            out.append("ZZ")
    elif col.kind is Kind.DATE:
        out += ["08/01/2025", "2025-02-30", "2025-13-01"]
        if col.date_range:
            out += ["1899-12-31", "2999-01-01"]
    elif col.kind is Kind.TIMESTAMP:
        out += ["yesterday", "2025-11-01 25:61"]
    elif col.kind is Kind.MONEY:
        out += ["$12.00", "1,234.00", "NaN", "Inf", "1e5", "12.345", "100000000.00"]
    elif col.kind is Kind.INT:
        out += ["12.5", "abc", "525601", "-1"]
    elif col.kind is Kind.BOOL:
        out += ["maybe"]
    elif col.kind is Kind.ENUM:
        out += ["refunded"]
    return out


_JSON_WRITER: duckdb.DuckDBPyConnection | None = None


def _json_writer() -> duckdb.DuckDBPyConnection:
    """One small in-memory DuckDB shared by every writer, to write JSON lines."""
    global _JSON_WRITER
    if _JSON_WRITER is None:
        _JSON_WRITER = duckdb.connect(config={"memory_limit": "256MB", "threads": 1})
    return _JSON_WRITER


class _Writer:
    """Streams one entity's rows into numbered files, alternating CSV and JSONL.

    Each chunk is written as it comes; a file is closed and the next one
    opened after `rows_per_file` rows, so memory holds one chunk at most.
    """

    def __init__(
        self, root: Path, entity: str, batch: str, rows_per_file: int, expected_rows: int, gzip_every: int = 4
    ) -> None:
        self.dir = root / entity / f"batch={batch}"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.entity = entity
        # at least two files (a CSV and a JSONL) for every entity
        self.rows_per_file = max(1, min(rows_per_file, -(-expected_rows // 2)))
        self.gzip_every = gzip_every
        self.part = -1
        self.in_file = 0
        self.written = 0
        self._out: BinaryIO | None = None
        self._csv: pacsv.CSVWriter | None = None
        self._con = _json_writer()

    def add(self, table: pa.Table) -> None:
        while table.num_rows:
            if self._out is None or self.in_file >= self.rows_per_file:
                self._open_next(table.schema)
            head = table.slice(0, self.rows_per_file - self.in_file)
            table = table.slice(head.num_rows)
            self._write(head)
            self.in_file += head.num_rows
            self.written += head.num_rows

    def close(self) -> None:
        self._close_current()

    def _open_next(self, schema: pa.Schema) -> None:
        self._close_current()
        self.part += 1
        self.in_file = 0
        is_json = self.part % 2 == 1
        gz = bool(self.gzip_every) and self.part % self.gzip_every == self.gzip_every - 1
        path = self.dir / f"part-{self.part:05d}.{'jsonl' if is_json else 'csv'}{'.gz' if gz else ''}"
        # level 1: a twentieth of level 9's time, for files a third bigger
        self._out = gzip.open(path, "wb", compresslevel=1) if gz else path.open("wb")  # noqa: SIM115  # type: ignore[assignment]
        if not is_json:
            options = pacsv.WriteOptions(include_header=True, quoting_style="needed")
            self._csv = pacsv.CSVWriter(self._out, schema, write_options=options)

    def _write(self, table: pa.Table) -> None:
        if self._csv is not None:
            self._csv.write_table(table)
            return
        # DuckDB writes JSON lines fast; each chunk passes through a small temp file.
        tmp = self.dir / f".chunk-{self.part:05d}.tmp"
        self._con.register("chunk", table)
        self._con.execute(f"copy chunk to '{tmp}' (format json)")
        self._con.unregister("chunk")
        with tmp.open("rb") as fh:
            while block := fh.read(1 << 20):
                self._out.write(block)  # type: ignore[union-attr]
        tmp.unlink()

    def _close_current(self) -> None:
        if self._csv is not None:
            self._csv.close()
            self._csv = None
        if self._out is not None:
            self._out.close()
            self._out = None


def _strings(values) -> pa.Array:
    return pa.array(values, pa.string())


def _fmt_dates(days: np.ndarray) -> np.ndarray:
    return np.datetime_as_string(np.datetime64(SPAN_START.isoformat(), "D") + days.astype("timedelta64[D]"), unit="D")


def _fmt_money(values: np.ndarray) -> np.ndarray:
    return np.char.mod("%.2f", np.round(values, 2))


def _corrupt(rng: np.random.Generator, cols: dict[str, np.ndarray], entity: str, share: float) -> None:
    """Give a `share` of rows one bad value each (in place)."""
    if share <= 0:
        return
    n = len(next(iter(cols.values())))
    spec = ENTITIES[entity]
    choices = [(c.name, v) for c in spec.columns if c.name in cols for v in bad_values(c)]
    if spec.date_order:
        choices.append(("__date_order__", ""))
    rows = np.flatnonzero(rng.random(n) < share)
    picks = rng.integers(0, len(choices), size=len(rows))
    for row, pick in zip(rows, picks, strict=True):
        name, value = choices[pick]
        if name == "__date_order__":
            later, earlier = spec.date_order  # type: ignore[misc]
            cols[later][row] = "2020-01-01"
            cols[earlier][row] = "2020-02-01"
        else:
            cols[name][row] = value


def _table(cols: dict[str, np.ndarray]) -> pa.Table:
    return pa.table({k: _strings(np.where(v == None, None, v)) for k, v in cols.items()})  # noqa: E711


def generate(
    out: Path,
    encounters: int,
    seed: int = 42,
    bad_share: float = 0.0,
    late_out: Path | None = None,
    rows_per_file: int = 250_000,
    late_scale: float = 1.0,
    gzip_every: int = 4,
) -> dict[str, int]:
    """Write a landing tree under `out` (and the later batch under `late_out`). Returns rows per entity.

    The late batch holds 1% new encounters for old dates, corrections of 2% and settlements of
    half the open claims, each times `late_scale` (1/3 makes it 1% of batch one's encounters).
    Batch one does not depend on `late_scale`. Every `gzip_every`-th file of an entity is
    gzipped (1: all of them, to save disk).
    """
    pa.set_memory_pool(pa.system_memory_pool())  # give freed batches back instead of pooling them
    sizes = Sizes.for_encounters(encounters)
    seeds = np.random.SeedSequence(seed).spawn(8)
    rng = {
        name: np.random.default_rng(s)
        for name, s in zip(
            ("hospitals", "providers", "patients", "diagnoses", "encounters", "claims", "appointments", "late"),
            seeds,
            strict=True,
        )
    }
    per_file = max(1, min(rows_per_file, max(encounters // 4, 50)))
    expected = {
        "hospitals": sizes.hospitals,
        "providers": sizes.providers,
        "patients": sizes.patients,
        "diagnoses": 4,
        "encounters": encounters,
        "claims": encounters,
        "appointments": sizes.appointments,
    }
    w1 = {e: _Writer(out, e, "001", per_file, expected[e], gzip_every) for e in ENTITIES}
    w2 = (
        {e: _Writer(late_out, e, "002", per_file, expected[e] // 50 + 2, gzip_every) for e in ENTITIES}
        if late_out
        else None
    )

    # Members held back from batch one (named by its encounters, described only in batch two).
    def held_patient(idx: np.ndarray) -> np.ndarray:
        return (idx % 50 == 7) if w2 else np.zeros(len(idx), bool)

    held_providers = {3, 11, 19} if w2 else set()
    held_hospital = sizes.hospitals - 1 if w2 else -1

    # -- hospitals
    h = np.arange(sizes.hospitals)
    r = rng["hospitals"]
    states = np.array([HOSPITAL_STATES[i % len(HOSPITAL_STATES)] for i in h], dtype=object)
    regions = np.array([STATE_REGIONS[s] for s in states], dtype=object)
    regions[r.random(len(h)) < 0.3] = None  # left for the state->region seed
    hosp = {
        "hospital_id": np.array([f"HSP-{i + 1:04d}" for i in h], dtype=object),
        "hospital_name": np.array(
            [f"{CITIES[i % len(CITIES)]} {HOSPITAL_KINDS[i % len(HOSPITAL_KINDS)]}" for i in h],
            dtype=object,
        ),
        "state": states,
        "region": regions,
        "facility_type": np.array(
            [FACILITY_TYPES[i] for i in r.choice(len(FACILITY_TYPES), len(h), p=(0.6, 0.1, 0.08, 0.07, 0.07, 0.08))],
            dtype=object,
        ),
        "updated_at": np.full(len(h), BATCH1_UPDATED, dtype=object),
    }
    _corrupt(r, hosp, "hospitals", bad_share)
    keep = h != held_hospital
    w1["hospitals"].add(_table({k: v[keep] for k, v in hosp.items()}))
    if w2:
        w2["hospitals"].add(_table({k: v[~keep] for k, v in hosp.items()}))

    # -- providers
    p = np.arange(sizes.providers)
    r = rng["providers"]
    first = r.integers(0, len(FIRST_NAMES), len(p))
    last = r.integers(0, len(LAST_NAMES), len(p))
    prov_hosp = r.integers(0, sizes.hospitals, len(p))
    prov = {
        "provider_id": np.array([f"PRV-{i + 1:06d}" for i in p], dtype=object),
        "provider_name": np.array(
            [f"{FIRST_NAMES[a]} {LAST_NAMES[b]}, MD" for a, b in zip(first, last, strict=True)], dtype=object
        ),
        "specialty": np.array([SPECIALTIES[i] for i in r.integers(0, len(SPECIALTIES), len(p))], dtype=object),
        "license_number": np.array(
            [f"{states[hh]}{n:07d}" for hh, n in zip(prov_hosp, r.integers(0, 10**7, len(p)), strict=True)],
            dtype=object,
        ),
        "provider_group": np.array(
            [PROVIDER_GROUPS[i] for i in (prov_hosp + r.integers(0, 2, len(p))) % len(PROVIDER_GROUPS)], dtype=object
        ),
        "hospital_id": np.array([f"HSP-{i + 1:04d}" for i in prov_hosp], dtype=object),
        "is_active": np.where(r.random(len(p)) < 0.95, "true", np.where(r.random(len(p)) < 0.5, "N", "false")).astype(
            object
        ),
        "updated_at": np.full(len(p), BATCH1_UPDATED, dtype=object),
    }
    _corrupt(r, prov, "providers", bad_share)
    keep = ~np.isin(p, list(held_providers))
    w1["providers"].add(_table({k: v[keep] for k, v in prov.items()}))
    if w2:
        w2["providers"].add(_table({k: v[~keep] for k, v in prov.items()}))

    # -- patients (streamed)
    r = rng["patients"]
    for start in range(0, sizes.patients, CHUNK):
        idx = np.arange(start, min(start + CHUNK, sizes.patients))
        n = len(idx)
        dob_days = r.integers(-88 * 365, 1 * 365, n)  # 1935 .. 2023
        gender = r.choice(
            np.array(["M", "F", "U", "O", "male", "Female"], dtype=object), n, p=(0.46, 0.46, 0.03, 0.01, 0.02, 0.02)
        )
        pats = {
            "patient_id": np.array([f"PAT-{i + 1:08d}" for i in idx], dtype=object),
            "mrn": np.array([f"MRN{m:09d}" for m in r.integers(0, 10**9, n)], dtype=object),
            "first_name": np.array(FIRST_NAMES, dtype=object)[r.integers(0, len(FIRST_NAMES), n)],
            "last_name": np.array(LAST_NAMES, dtype=object)[r.integers(0, len(LAST_NAMES), n)],
            "date_of_birth": _fmt_dates(dob_days).astype(object),
            "gender": gender,
            "is_active": np.where(r.random(n) < 0.97, "true", "false").astype(object),
            "updated_at": np.full(n, BATCH1_UPDATED, dtype=object),
        }
        _corrupt(r, pats, "patients", bad_share)
        held = held_patient(idx)
        w1["patients"].add(_table({k: v[~held] for k, v in pats.items()}))
        if w2:
            w2["patients"].add(_table({k: v[held] for k, v in pats.items()}))
            fix = (~held) & (r.random(n) < 0.01)  # corrections: a changed last name
            corrected = {k: v[fix].copy() for k, v in pats.items()}
            corrected["last_name"] = np.array(LAST_NAMES, dtype=object)[r.integers(0, len(LAST_NAMES), int(fix.sum()))]
            corrected["updated_at"] = np.full(int(fix.sum()), BATCH2_UPDATED, dtype=object)
            w2["patients"].add(_table(corrected))

    # -- diagnoses: local codes, and descriptions overridden for two ICD codes
    pool = diagnosis_pool()
    diag = {
        "diagnosis_code": np.array([c for c, _, _ in LOCAL_CODES] + ["I10", "E11.9"], dtype=object),
        "description": np.array(
            [d for _, d, _ in LOCAL_CODES] + ["Hypertension (essential)", "Type 2 diabetes without complications"],
            dtype=object,
        ),
        "category": np.array([k for _, _, k in LOCAL_CODES] + [None, None], dtype=object),
        "updated_at": np.full(4, BATCH1_UPDATED, dtype=object),
    }
    w1["diagnoses"].add(_table(diag))
    if w2:
        w2["diagnoses"].add(
            _table(
                {
                    "diagnosis_code": np.array(["LOC003"], dtype=object),
                    "description": np.array(["Telehealth follow-up"], dtype=object),
                    "category": np.array(["Local codes"], dtype=object),
                    "updated_at": np.array([BATCH2_UPDATED], dtype=object),
                }
            )
        )

    # -- encounters and their claims (streamed together)
    r, rc = rng["encounters"], rng["claims"]
    span_days = (SPAN_END - SPAN_START).days
    pool_arr = np.array(pool, dtype=object)
    weights = 1.0 / np.arange(1, len(pool) + 1) ** 0.8
    weights /= weights.sum()
    base_cost = np.exp(rng["diagnoses"].normal(6.5, 0.8, len(pool)))
    claim_seq = 0
    for start in range(0, encounters, CHUNK):
        idx = np.arange(start, min(start + CHUNK, encounters))
        n = len(idx)
        days = r.integers(0, span_days + 1, n)
        prov_i = r.integers(0, sizes.providers, n)
        hosp_i = np.where(r.random(n) < 0.85, prov_hosp[prov_i], r.integers(0, sizes.hospitals, n))
        diag_i = r.choice(len(pool), n, p=weights)
        amount = np.round(base_cost[diag_i] * r.lognormal(0, 0.35, n), 2)
        amount[r.random(n) < 0.002] = 0.0  # zero billing: an exception rule
        codes = pool_arr[diag_i].copy()
        undotted = r.random(n) < 0.03
        codes[undotted] = np.char.replace(codes[undotted].astype(str), ".", "").astype(object)
        codes[r.random(n) < 0.04] = None
        codes[r.random(n) < 0.005] = LOCAL_CODES[0][0]
        enc = {
            "encounter_id": np.array([f"ENC-{i + 1:010d}" for i in idx], dtype=object),
            "patient_id": np.array([f"PAT-{i + 1:08d}" for i in r.integers(0, sizes.patients, n)], dtype=object),
            "provider_id": prov["provider_id"][prov_i],
            "hospital_id": hosp["hospital_id"][hosp_i],
            "diagnosis_code": codes,
            "encounter_date": _fmt_dates(days).astype(object),
            "billing_amount": _fmt_money(amount).astype(object),
            "encounter_duration": r.integers(10, 480, n).astype(str).astype(object),
            "updated_at": np.full(n, BATCH1_UPDATED, dtype=object),
        }
        # claims: most encounters have one; a few have two (duplicates); some none
        has_claim = rc.random(n) < 0.92
        dup = has_claim & (rc.random(n) < 0.01)
        ci = np.concatenate([np.flatnonzero(has_claim), np.flatnonzero(dup)])
        m = len(ci)
        status = rc.choice(np.array(CLAIM_STATUSES, dtype=object), m, p=CLAIM_STATUS_P)
        submitted = days[ci] + rc.integers(1, 21, m)
        adjudicated = submitted + rc.integers(7, 46, m)
        # nothing is submitted after the sample's today; what it has not adjudicated yet is pending
        as_of_day = (SAMPLE_AS_OF - SPAN_START).days
        keep = submitted <= as_of_day
        ci, status, submitted, adjudicated = ci[keep], status[keep], submitted[keep], adjudicated[keep]
        m = len(ci)
        status[(adjudicated > as_of_day) & ~np.isin(status, ["pending", "submitted"])] = "pending"
        open_claim = np.isin(status, ["pending", "submitted"])
        billed = amount[ci].copy()
        off = rc.random(m) < 0.02
        billed[off] = np.round(billed[off] * rc.uniform(1.1, 1.5, int(off.sum())), 2)
        allowed = np.round(billed * rc.uniform(0.5, 0.9, m), 2)
        paid = np.where(
            status == "paid", allowed, np.where(status == "partially_paid", np.round(allowed * 0.5, 2), 0.0)
        )
        claim_ids = np.array([f"CLM-{claim_seq + k + 1:010d}" for k in range(m)], dtype=object)
        claim_seq += m
        enc_ids = enc["encounter_id"][ci].copy()
        enc_ids[rc.random(m) < 0.003] = None  # claims with no encounter
        clm = {
            "claim_id": claim_ids,
            "encounter_id": enc_ids,
            "patient_id": enc["patient_id"][ci],
            "provider_id": enc["provider_id"][ci],
            "payer": np.array(PAYERS, dtype=object)[rc.integers(0, len(PAYERS), m)],
            "submitted_date": _fmt_dates(submitted).astype(object),
            "adjudicated_date": np.where(open_claim, None, _fmt_dates(adjudicated).astype(object)),
            "claim_status": status,
            "denial_reason_code": np.where(
                status == "denied", np.array(CARC_CODES, dtype=object)[rc.integers(0, len(CARC_CODES), m)], None
            ),
            "billed_amount": _fmt_money(billed).astype(object),
            "allowed_amount": np.where(open_claim, None, _fmt_money(allowed).astype(object)),
            "paid_amount": np.where(open_claim, None, _fmt_money(paid).astype(object)),
            "updated_at": np.full(m, BATCH1_UPDATED, dtype=object),
        }
        if w2:
            fix = r.random(n) < 0.02 * late_scale  # corrections: re-billed encounters
            corrected = {k: v[fix].copy() for k, v in enc.items()}
            corrected["billing_amount"] = _fmt_money(amount[fix] * 1.1).astype(object)
            corrected["updated_at"] = np.full(int(fix.sum()), BATCH2_UPDATED, dtype=object)
            w2["encounters"].add(_table(corrected))
            settle = open_claim & (rc.random(m) < 0.5 * late_scale)  # open claims adjudicated later
            settled = {k: v[settle].copy() for k, v in clm.items()}
            settled["claim_status"] = np.full(int(settle.sum()), "denied", dtype=object)
            settled["adjudicated_date"] = _fmt_dates(np.minimum(adjudicated[settle], as_of_day)).astype(object)
            settled["denial_reason_code"] = np.full(int(settle.sum()), "CO-16", dtype=object)
            settled["allowed_amount"] = np.full(int(settle.sum()), "0.00", dtype=object)
            settled["paid_amount"] = np.full(int(settle.sum()), "0.00", dtype=object)
            settled["updated_at"] = np.full(int(settle.sum()), BATCH2_UPDATED, dtype=object)
            w2["claims"].add(_table(settled))
        _corrupt(r, enc, "encounters", bad_share)
        _corrupt(rc, clm, "claims", bad_share)
        w1["encounters"].add(_table(enc))
        w1["claims"].add(_table(clm))

    if w2:  # late-arriving encounters for old dates (2023-2024)
        late_n = max(10, round(encounters / 100 * late_scale))
        rl = rng["late"]
        days = rl.integers(0, 700, late_n)
        prov_i = rl.integers(0, sizes.providers, late_n)
        diag_i = rl.choice(len(pool), late_n, p=weights)
        w2["encounters"].add(
            _table(
                {
                    "encounter_id": np.array([f"ENC-L{i + 1:09d}" for i in range(late_n)], dtype=object),
                    "patient_id": np.array(
                        [f"PAT-{i + 1:08d}" for i in rl.integers(0, sizes.patients, late_n)], dtype=object
                    ),
                    "provider_id": prov["provider_id"][prov_i],
                    "hospital_id": hosp["hospital_id"][prov_hosp[prov_i]],
                    "diagnosis_code": pool_arr[diag_i],
                    "encounter_date": _fmt_dates(days).astype(object),
                    "billing_amount": _fmt_money(np.round(base_cost[diag_i], 2)).astype(object),
                    "encounter_duration": rl.integers(10, 480, late_n).astype(str).astype(object),
                    "updated_at": np.full(late_n, BATCH2_UPDATED, dtype=object),
                }
            )
        )

    # -- appointments
    r = rng["appointments"]
    today = SAMPLE_AS_OF
    # a few providers have a real no-show problem: four times the missed share
    no_show_prone = (np.arange(sizes.providers) % 13) == 5
    for start in range(0, sizes.appointments, CHUNK):
        idx = np.arange(start, min(start + CHUNK, sizes.appointments))
        n = len(idx)
        days = r.integers(0, (today - SPAN_START).days + 40, n)
        past = days < (today - SPAN_START).days
        past_status = r.choice(
            np.array(["completed", "missed", "cancelled", "no-show", "No_Show"], dtype=object),
            n,
            p=(0.80, 0.07, 0.10, 0.02, 0.01),
        )
        prov_i = r.integers(0, sizes.providers, n)
        past_status[no_show_prone[prov_i] & (r.random(n) < 0.25)] = "missed"
        apt = {
            "appointment_id": np.array([f"APT-{i + 1:010d}" for i in idx], dtype=object),
            "patient_id": np.array([f"PAT-{i + 1:08d}" for i in r.integers(0, sizes.patients, n)], dtype=object),
            "provider_id": prov["provider_id"][prov_i],
            "hospital_id": hosp["hospital_id"][prov_hosp[prov_i]],
            "appointment_date": _fmt_dates(days).astype(object),
            "status": np.where(past, past_status, "scheduled").astype(object),
            "updated_at": np.full(n, BATCH1_UPDATED, dtype=object),
        }
        _corrupt(r, apt, "appointments", bad_share)
        w1["appointments"].add(_table(apt))

    counts: dict[str, int] = {}
    for writers, tag in ((w1, ""), (w2 or {}, "late_")):
        for e, w in writers.items():
            w.close()
            counts[f"{tag}{e}"] = w.written
    (out / "_generated.json").write_text(
        json.dumps({"seed": seed, "encounters": encounters, "bad_share": bad_share, "rows": counts}, indent=2)
    )
    return counts
