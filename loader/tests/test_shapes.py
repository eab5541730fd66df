"""Shape flags (carestar.shapes) may only say "matches" where the column's regular expression would."""

from __future__ import annotations

import itertools
import random

import duckdb
import pyarrow as pa
import pytest

from carestar.contract import ENTITIES, Kind
from carestar.shapes import SHAPE_PREFIX, with_shapes
from carestar.validate import column_sql, validated_arrow, validation_sql

# the four pattern-checked columns of an encounter: a date, a timestamp, an amount, an integer
PATTERNS = {c.name: column_sql(c).pattern for c in ENTITIES["encounters"].columns if column_sql(c).pattern}
COMMON = {
    "encounter_date": ["2025-12-01", "1900-01-01", "2025-02-30"],
    "updated_at": ["2026-11-01T02:00:00Z", "2026-11-01T02:00:00", "9999-99-99T99:99:99Z"],
    "billing_amount": ["1551.07", "0", "12.5", "99999999999.99"],
    "encounter_duration": ["477", "0", "0000123"],
}
# Bytes around the digits (0x30-0x39) and the shapes' literals: ':' ';' '?' and '/' sit next to
# them, '٣' is a digit that is not ASCII, and a tab or a space is trimmed or not.
ALPHABET = list("0123456789") * 3 + list("-:T.Z z/;?+,e") + ["\t", "٣", "é", "\x00"]


def _mutations(rng: random.Random, seed: str, n: int) -> list[str]:
    out = []
    for _ in range(n):
        chars = list(seed)
        for _ in range(rng.randint(1, 3)):
            op = rng.random()
            i = rng.randrange(len(chars) + 1)
            if op < 0.5 and chars:
                chars[min(i, len(chars) - 1)] = rng.choice(ALPHABET)
            elif op < 0.75:
                chars.insert(i, rng.choice(ALPHABET))
            elif chars:
                del chars[min(i, len(chars) - 1)]
        out.append("".join(chars))
    return out


def _values(column: str) -> list[str | None]:
    rng = random.Random(column)
    values: list[str | None] = ["", None, *COMMON[column]]
    for seed in COMMON[column]:
        values += _mutations(rng, seed, 3000)
    values += ["".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 22))) for _ in range(3000)]
    return values


def _table(values: list[str | None]) -> pa.Table:
    """The values in chunks of uneven sizes, one of them a slice (an offset into its buffers)."""
    whole = pa.array(["pad", *values, "pad"], pa.string()).slice(1, len(values))
    cuts = [0, 7, 8, 1000, len(values) // 2, len(values)]
    chunks = [whole.slice(a, b - a) for a, b in itertools.pairwise(cuts)]
    return pa.table({"v": pa.chunked_array(chunks, pa.string())})


@pytest.mark.parametrize("column", sorted(PATTERNS))
def test_a_flagged_value_matches_its_columns_expression(column):
    entity = ENTITIES["encounters"]
    values = _values(column)
    table = with_shapes(entity, _table(values).rename_columns([column]))
    _t = table  # read by DuckDB through its name
    rows = duckdb.sql(
        f"select {column}, {SHAPE_PREFIX}{column}, regexp_full_match({column}, ?) from _t", params=[PATTERNS[column]]
    ).fetchall()
    assert [r[0] for r in rows] == values
    wrong = [r[0] for r in rows if r[1] and not r[2]]
    assert wrong == [], f"flagged, but the expression does not match: {wrong[:5]}"
    flagged = {r[0] for r in rows if r[1]}
    assert set(COMMON[column]) <= flagged, "the common shapes are not recognised"
    assert None not in flagged and "" not in flagged
    # the flags pass over more than the common values themselves, and some matching values
    # are left to the expression
    assert len(flagged) > len(COMMON[column])


def test_shape_flags_change_no_validation_result():
    """The same rows, validated with their shape flags and by the expressions alone, agree."""
    entity = ENTITIES["encounters"]
    rng = random.Random(7)
    columns = {name: _values(name) for name in PATTERNS}
    n = min(len(v) for v in columns.values())
    data = {c.name: [f"{c.name[:3].upper()}-{i}" for i in range(n)] for c in entity.columns if c.kind is Kind.ID}
    data |= {name: rng.sample(values, n) for name, values in columns.items()}
    data["_line"] = list(range(2, n + 2))
    table = pa.table({k: pa.array(v, pa.int64() if k == "_line" else pa.string()) for k, v in data.items()})
    con = duckdb.connect()
    with_flags = validated_arrow(con, entity, table)
    assert any(name.startswith(SHAPE_PREFIX) for name in with_shapes(entity, table).column_names)
    _plain = table  # read by DuckDB through its name
    present = {name for name in table.column_names if name != "_line"}
    plain = con.sql(validation_sql(entity, "_plain", present)).to_arrow_table()
    assert with_flags.equals(plain)
    errors = with_flags.column("_errors").to_pylist()
    assert any(not e for e in errors) and any(e for e in errors)  # both kinds of rows were checked
