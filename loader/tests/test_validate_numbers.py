"""Amount and integer rules, checked against Python's own arithmetic on the same text."""

from __future__ import annotations

import random
import re
from decimal import Decimal

import duckdb
import pyarrow as pa

from carestar.contract import ENTITIES, MONEY_MAX_ABS, Rule
from carestar.validate import column_sql, validated_arrow

ENCOUNTERS = ENTITIES["encounters"]
COLUMNS = {c.name: c for c in ENCOUNTERS.columns}
EDGES = [
    "0", "-0", "1", "99999999.99", "-99999999.99", "100000000.00", "-100000000", "99999999.999", "0.5", "00.50",
    "0000000000000000000000000000000000000000099999999.99", "1" + "0" * 40, "525600", "525601", "-1", "+5",
    "2147483647", "2147483648", "-2147483648", "-2147483649", "9" * 39, "0" * 50 + "7", "1.", ".5", "--1", "1e3",
]  # fmt: skip


def _numbers(seed: int, n: int) -> list[str]:
    rng = random.Random(seed)
    out = list(EDGES)
    for _ in range(n):
        whole = "".join(rng.choice("0123456789") for _ in range(rng.choice([1, 2, 6, 8, 9, 10, 11, 19, 38, 40])))
        sign = rng.choice(["", "", "-", "+"])
        places = rng.choice(["", "", ".", "." + str(rng.randrange(10)), f".{rng.randrange(100):02d}", ".123"])
        out.append(sign + whole + places)
    return out


def _expected(column: str, text: str) -> str | None:
    col = COLUMNS[column]
    pattern = column_sql(col).pattern
    assert pattern is not None
    if column == "billing_amount":
        if not re.fullmatch(pattern, text):
            return Rule.MONEY_INVALID.value
        return Rule.MONEY_OUT_OF_RANGE.value if abs(Decimal(text)) > Decimal(MONEY_MAX_ABS) else None
    if not re.fullmatch(pattern, text):
        return Rule.INT_INVALID.value
    low, high = col.int_range or (-(2**31), 2**31 - 1)
    return None if low <= int(text) <= high else Rule.INT_OUT_OF_RANGE.value


def test_amounts_and_integers_are_judged_as_python_judges_them():
    texts = _numbers(3, 4000)
    n = len(texts)
    table = pa.table(
        {
            "encounter_id": [f"E{i}" for i in range(n)],
            "patient_id": ["P"] * n,
            "provider_id": ["D"] * n,
            "hospital_id": ["H"] * n,
            "encounter_date": ["2025-03-01"] * n,
            "billing_amount": texts,
            "encounter_duration": texts,
            "_line": pa.array(range(2, n + 2), pa.int64()),
        }
    )
    validated = validated_arrow(duckdb.connect(), ENCOUNTERS, table).to_pylist()
    seen = set()
    for text, row in zip(texts, validated, strict=True):
        broken = dict(e.split(":") for e in row["_errors"])
        for column in ("billing_amount", "encounter_duration"):
            expected = _expected(column, text)
            assert broken.get(column) == expected, (column, text)
            seen.add(expected)
        if "billing_amount" not in broken:
            assert row["billing_amount"] == Decimal(text)
        if "encounter_duration" not in broken:
            assert row["encounter_duration"] == int(text)
    assert seen >= {None, "money_invalid", "money_out_of_range", "int_invalid", "int_out_of_range"}
