"""An independent reading of a landing tree, for checking the warehouse's figures.

Plain Python (csv, json, re, datetime, decimal), written apart from the
loader's SQL validator and the dbt models: it applies the landing contract's
rules row by row, keeps the latest version of each key, and computes the
acceptance query's figures. Slow, and meant for small test trees only.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
from collections import defaultdict
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

from carestar.contract import ENTITIES, STATE_REGIONS

ISO = re.compile(r"\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}([.,]\d+)?)?(Z|z|[+-]\d{2}(:?\d{2})?)?)?", re.ASCII)
MONEY = re.compile(r"-?\d+(\.\d{1,2})?", re.ASCII)
INT = re.compile(r"[+-]?\d+", re.ASCII)
BOOLS = {"true", "t", "yes", "y", "1", "false", "f", "no", "n", "0"}


def _rows(path: Path) -> list[tuple[int, dict[str, str | None]]]:
    raw = path.read_bytes()
    if path.name.endswith(".gz"):
        raw = gzip.decompress(raw)
    text = raw.decode("utf-8-sig")
    out = []
    if ".csv" in path.name:
        reader = csv.reader(io.StringIO(text, newline=""))
        header = [h.strip().lower() for h in next(reader)]
        for n, rec in enumerate(reader, start=2):
            out.append((n, dict(zip(header, rec, strict=True))))
    else:
        for n, line in enumerate(text.split("\n"), start=1):
            if line.strip():
                obj = json.loads(line, parse_float=str, parse_int=str)
                out.append(
                    (
                        n,
                        {
                            k.strip().lower(): (
                                None if v is None else str(v).lower() if isinstance(v, bool) else str(v)
                            )
                            for k, v in obj.items()
                        },
                    )
                )
    return out


def _date(v: str) -> date | None:
    if not ISO.fullmatch(v):
        return None
    try:
        return date.fromisoformat(v[:10])
    except ValueError:
        return None


def _timestamp(v: str) -> datetime | None:
    if not ISO.fullmatch(v):
        return None
    try:
        ts = datetime.fromisoformat(v.replace("z", "Z").replace(",", "."))
    except ValueError:
        return None
    return ts.astimezone(UTC).replace(tzinfo=None) if ts.tzinfo else ts


def valid(entity: str, row: dict[str, str | None]) -> bool:
    """Does the row keep every rule of the contract?"""
    spec = ENTITIES[entity]
    values = {}
    for col in spec.columns:
        raw = row.get(col.name)
        v = raw if col.kind.value == "text" else (raw.strip() if raw is not None else None)
        if v == "":
            v = None
        if v is None:
            if col.required:
                return False
            continue
        kind = col.kind.value
        if kind == "id" and len(v) > 64:
            return False
        if kind == "text":
            if len(v) > col.width:
                return False
            if col.code_set and v.strip().upper() not in STATE_REGIONS:
                return False
        if kind == "date":
            d = _date(v)
            if d is None:
                return False
            if col.date_range and not (date(1900, 1, 1) <= d <= date.today()):
                return False
            values[col.name] = d
        if kind == "timestamp" and _timestamp(v) is None:
            return False
        if kind == "money":
            if not MONEY.fullmatch(v):
                return False
            try:
                if abs(Decimal(v)) > Decimal("99999999.99"):
                    return False
            except InvalidOperation:
                return False
        if kind == "int" and (not INT.fullmatch(v) or not 0 <= int(v) <= 525_600):
            return False
        if kind == "bool" and v.lower() not in BOOLS:
            return False
        if kind == "enum" and v.lower() not in col.values:
            return False
    if spec.date_order:
        later, earlier = spec.date_order
        if later in values and earlier in values and values[later] < values[earlier]:
            return False
    return True


def latest(root: Path, entity: str) -> dict[str, dict[str, str | None]]:
    """Valid rows of an entity under `root`, the latest version per key."""
    spec = ENTITIES[entity]
    best: dict[str, tuple[tuple, dict]] = {}
    files = sorted(p for p in (root / entity).rglob("*") if p.is_file() and not p.name.startswith(("_", ".")))
    for file_order, path in enumerate(files):
        for line, row in _rows(path):
            if not valid(entity, row):
                continue
            key = row[spec.key].strip()
            if entity == "diagnoses":
                key = key.upper().replace(".", "")
            ts = _timestamp(row["updated_at"].strip()) if row.get("updated_at") else None
            rank = (ts is not None, ts or datetime.min, file_order, line)
            if key not in best or rank > best[key][0]:
                best[key] = (rank, row)
    return {k: v for k, (_, v) in best.items()}


def _rank_ts(row: dict) -> tuple:
    ts = _timestamp(row["updated_at"].strip()) if row.get("updated_at") else None
    return (ts is not None, ts or datetime.min)


class Landing:
    """The latest valid version of every key of every entity, over roots loaded in order."""

    def __init__(self, roots: list[Path]) -> None:
        self.rows: dict[str, dict[str, dict]] = {}
        for entity in ENTITIES:
            combined: dict = {}
            for root in roots:  # a later root's versions were loaded later: they win ties
                for key, row in latest(root, entity).items():
                    if key not in combined or _rank_ts(row) >= _rank_ts(combined[key]):
                        combined[key] = row
            self.rows[entity] = combined

    def region(self, hospital_id: str | None) -> str:
        h = self.rows["hospitals"].get((hospital_id or "").strip())
        if h is None:
            return "Unknown"
        if h.get("region"):
            return h["region"]
        return STATE_REGIONS.get((h.get("state") or "").strip().upper(), "Unknown")

    def provider(self, provider_id: str) -> dict | None:
        return self.rows["providers"].get(provider_id.strip())


def acceptance_figures(roots: list[Path], year: int = 2025) -> dict[tuple[str, str], Decimal | None]:
    """The acceptance query's result, computed from the files under `roots`, loaded in that order."""
    import simple_icd_10_cm as cm

    land = Landing(roots)
    icd = {c.replace(".", ""): c for c in cm.get_all_codes(with_dots=True) if not cm.is_chapter_or_block(c)}
    diagnoses = {k.upper().replace(".", ""): v for k, v in land.rows["diagnoses"].items()}

    def description(code: str | None) -> str:
        if not code or not code.strip():
            return "Unknown diagnosis"
        key = code.strip().upper().replace(".", "")
        landed = diagnoses.get(key)
        if landed and landed.get("description"):
            return landed["description"]
        if key in icd:
            text = cm.get_description(icd[key])
            return text if len(text) <= 200 else text[:197].rstrip() + "..."
        return "Unknown diagnosis code"

    amounts: dict[tuple[str, str], list[Decimal]] = defaultdict(list)
    for enc in land.rows["encounters"].values():
        if date.fromisoformat(enc["encounter_date"].strip()[:10]).year != year:
            continue
        group = amounts[(land.region(enc["hospital_id"]), description(enc.get("diagnosis_code")))]
        amount = (enc.get("billing_amount") or "").strip()
        if amount:
            group.append(Decimal(amount))
    # SUM over no values is NULL, as in SQL
    return {k: (sum(v, Decimal(0)) if v else None) for k, v in amounts.items()}


def _money(value: str | None) -> Decimal | None:
    return Decimal(value.strip()) if value and value.strip() else None


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value.strip()[:10]) if value and value.strip() else None


def encounters_by_region(roots: list[Path]) -> dict[tuple[str, int], tuple[int, Decimal]]:
    land = Landing(roots)
    out: dict[tuple[str, int], list] = defaultdict(lambda: [0, Decimal(0)])
    for enc in land.rows["encounters"].values():
        cell = out[(land.region(enc["hospital_id"]), _day(enc["encounter_date"]).year)]
        cell[0] += 1
        cell[1] += _money(enc.get("billing_amount")) or 0
    return {k: (n, total) for k, (n, total) in out.items()}


def weekly_denied_claims(roots: list[Path]) -> dict[tuple[date, str, str], tuple[int, Decimal, int]]:
    """(week, group, region) -> (denied claims, denied amount, claims), weeks of the adjudication date."""
    land = Landing(roots)
    out: dict[tuple, list] = defaultdict(lambda: [0, Decimal(0), 0])
    for claim in land.rows["claims"].values():
        adjudicated = _day(claim.get("adjudicated_date"))
        if adjudicated is None:
            continue
        week = date.fromordinal(adjudicated.toordinal() - adjudicated.weekday())
        provider = land.provider(claim["provider_id"])
        group = (provider or {}).get("provider_group") or "Unknown"
        region = land.region(provider.get("hospital_id")) if provider else "Unknown"
        cell = out[(week, group, region)]
        if claim["claim_status"].strip().lower() == "denied":
            cell[0] += 1
            cell[1] += _money(claim["billed_amount"])
        cell[2] += 1
    return {k: tuple(v) for k, v in out.items()}


def missed_appointments(roots: list[Path], as_of: date) -> dict[str, tuple[int, int]]:
    """provider_id -> (missed appointments, rank), top five with ties."""
    land = Landing(roots)
    counts: dict[str, int] = defaultdict(int)
    for apt in land.rows["appointments"].values():
        status = apt["status"].strip().lower()
        day = _day(apt["appointment_date"])
        if status in {"missed", "no-show", "no_show", "noshow"} and 0 < (as_of - day).days <= 30:
            counts[apt["provider_id"].strip()] += 1
    ordered = sorted(counts.values(), reverse=True)
    ranks = {n: ordered.index(n) + 1 for n in set(ordered)}
    return {p: (n, ranks[n]) for p, n in counts.items() if ranks[n] <= 5}


def billing_exception_counts(
    roots: list[Path], as_of: date, multiplier: int = 3, min_encounters: int = 5, unclaimed_days: int = 30
) -> dict[str, int]:
    land = Landing(roots)
    encounters = land.rows["encounters"]
    claims = land.rows["claims"]
    counts: dict[str, int] = defaultdict(int)
    by_code: dict[str, list[Decimal]] = defaultdict(list)
    for enc in encounters.values():
        amount = _money(enc.get("billing_amount"))
        code = (enc.get("diagnosis_code") or "").strip().upper().replace(".", "")
        if amount is not None and amount <= 0:
            counts["BE01"] += 1
        if code and amount is not None and amount > 0:
            by_code[code].append(amount)
    norms = {c: sum(v) / len(v) for c, v in by_code.items() if len(v) >= min_encounters}
    for enc in encounters.values():
        amount = _money(enc.get("billing_amount"))
        code = (enc.get("diagnosis_code") or "").strip().upper().replace(".", "")
        if amount is not None and code in norms and amount > multiplier * norms[code]:
            counts["BE02"] += 1
    claimed: dict[str, list] = defaultdict(list)
    for claim in claims.values():
        encounter_id = (claim.get("encounter_id") or "").strip()
        enc = encounters.get(encounter_id)
        if enc is None:
            counts["BE04"] += 1
        elif abs(_money(claim["billed_amount"]) - (_money(enc.get("billing_amount")) or 0)) > Decimal("0.01"):
            counts["BE03"] += 1
        if encounter_id:
            claimed[encounter_id].append(claim)
    counts["BE06"] = sum(len(v) - 1 for v in claimed.values())
    counts["BE05"] = sum(
        1
        for k, enc in encounters.items()
        if k not in claimed and (as_of - _day(enc["encounter_date"])).days >= unclaimed_days
    )
    return {k: v for k, v in counts.items() if v}


def row_counts(roots: list[Path]) -> dict[str, tuple[int, int, int]]:
    """entity -> (rows read, valid, rejected) over every file under `roots`."""
    out = {}
    for entity in ENTITIES:
        read = ok = 0
        for root in roots:
            for path in sorted(
                p for p in (root / entity).rglob("*") if p.is_file() and not p.name.startswith(("_", "."))
            ):
                for _, row in _rows(path):
                    read += 1
                    ok += valid(entity, row)
        out[entity] = (read, ok, read - ok)
    return out
