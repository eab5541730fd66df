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


def acceptance_figures(roots: list[Path], year: int = 2025) -> dict[tuple[str, str], Decimal]:
    """The acceptance query's result, computed from the files under `roots`, loaded in that order."""
    import simple_icd_10_cm as cm

    merged: dict[str, dict] = {}
    for entity in ("encounters", "hospitals", "diagnoses"):
        combined: dict = {}
        for root in roots:  # a later root's versions were loaded later
            for key, row in latest(root, entity).items():
                old = combined.get(key)
                new_ts = _timestamp(row["updated_at"].strip()) if row.get("updated_at") else None
                old_ts = _timestamp(old["updated_at"].strip()) if old and old.get("updated_at") else None
                if old is None or (new_ts is not None, new_ts or datetime.min) >= (
                    old_ts is not None,
                    old_ts or datetime.min,
                ):
                    combined[key] = row
        merged[entity] = combined

    def region(hospital_id: str) -> str:
        h = merged["hospitals"].get(hospital_id)
        if h is None:
            return "Unknown"
        if h.get("region"):
            return h["region"]
        state = (h.get("state") or "").strip().upper()
        return STATE_REGIONS.get(state, "Unknown")

    icd = {c.replace(".", ""): c for c in cm.get_all_codes(with_dots=True) if not cm.is_chapter_or_block(c)}

    def description(code: str | None) -> str:
        if not code or not code.strip():
            return "Unknown diagnosis"
        key = code.strip().upper().replace(".", "")
        landed = merged["diagnoses"].get(key)
        if landed and landed.get("description"):
            return landed["description"]
        if key in icd:
            text = cm.get_description(icd[key])
            return text if len(text) <= 200 else text[:197].rstrip() + "..."
        return "Unknown diagnosis code"

    amounts: dict[tuple[str, str], list[Decimal]] = defaultdict(list)
    for enc in merged["encounters"].values():
        if date.fromisoformat(enc["encounter_date"].strip()[:10]).year != year:
            continue
        group = amounts[(region(enc["hospital_id"].strip()), description(enc.get("diagnosis_code")))]
        amount = (enc.get("billing_amount") or "").strip()
        if amount:
            group.append(Decimal(amount))
    # SUM over no values is NULL, as in SQL
    return {k: (sum(v, Decimal(0)) if v else None) for k, v in amounts.items()}
