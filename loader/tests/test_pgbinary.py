"""PostgreSQL's binary COPY format written from Arrow: every type, edge values and NULLs, read back."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import psycopg
import pyarrow as pa
import pytest

from carestar.pgbinary import copy_rows

COLUMNS = {
    "t": ("text", "varchar(64)", pa.string()),
    "d": ("date", "date", pa.date32()),
    "ts": ("timestamp", "timestamp", pa.timestamp("us")),
    "m": ("numeric", "decimal(10, 2)", pa.decimal128(10, 2)),
    "i": ("int4", "integer", pa.int32()),
    "b": ("int8", "bigint", pa.int64()),
    "f": ("bool", "boolean", pa.bool_()),
}

ROWS = [
    ("ENC-1", date(2025, 12, 1), datetime(2026, 11, 1, 2, 0), Decimal("1551.07"), 70, 7, True),
    ("", date(1999, 12, 31), datetime(1969, 7, 20, 20, 17, 40, 123456), Decimal("-0.01"), -1, -(2**62), False),
    (None, None, None, None, None, None, None),
    ("Zoë 李 'x'); drop table t;--\n\"q\"", date(1900, 1, 1), datetime(2000, 1, 1), Decimal("99999999.99"), 0, 0, None),
    ("a" * 64, date(2000, 1, 1), datetime(2262, 4, 11), Decimal("-99999999.99"), 2**31 - 1, 2**63 - 1, True),
    ("x", date(2100, 2, 28), datetime(2024, 2, 29, 23, 59, 59, 999999), Decimal("0.00"), -(2**31), -1, False),
    ("y", date(2024, 2, 29), datetime(1999, 12, 31, 23, 59, 59), Decimal("10000.50"), 525600, 1, True),
]


@pytest.fixture
def conn(postgres_env):
    conninfo = "host={PGHOST} port={PGPORT} user={PGUSER} dbname={PGDATABASE}".format(**postgres_env)
    with psycopg.connect(conninfo, autocommit=True) as c:
        c.execute("drop table if exists binary_copy")
        c.execute("create table binary_copy (" + ", ".join(f"{n} {t[1]}" for n, t in COLUMNS.items()) + ")")
        yield c


def _copy(conn, table: pa.Table) -> None:
    data = copy_rows(table, [t[0] for t in COLUMNS.values()])
    with conn.cursor() as cur, cur.copy(f"copy binary_copy ({', '.join(COLUMNS)}) from stdin (format binary)") as copy:
        copy.write(data)


def test_every_type_round_trips_through_binary_copy(conn):
    columns = list(zip(*ROWS, strict=True))
    table = pa.table({n: pa.array(values, t[2]) for (n, t), values in zip(COLUMNS.items(), columns, strict=True)})
    _copy(conn, table)
    got = conn.execute(f"select {', '.join(COLUMNS)} from binary_copy").fetchall()
    assert sorted(map(repr, got)) == sorted(map(repr, ROWS))


def test_chunked_and_sliced_columns_are_written_whole(conn):
    table = pa.table(
        {
            n: pa.chunked_array([pa.array(v, t[2]) for v in (vals[:3], vals[3:])])
            for (n, t), vals in zip(COLUMNS.items(), zip(*ROWS, strict=True), strict=True)
        }
    ).slice(1, 5)
    _copy(conn, table)
    got = conn.execute(f"select {', '.join(COLUMNS)} from binary_copy").fetchall()
    assert sorted(map(repr, got)) == sorted(map(repr, ROWS[1:6]))


def test_money_beyond_the_contract_is_refused_not_wrapped():
    table = pa.table({"m": pa.array([Decimal("100000000.00")], pa.decimal128(12, 2))})
    with pytest.raises(ValueError, match="out of range"):
        copy_rows(table, ["numeric"])


def test_an_empty_batch_writes_nothing():
    assert copy_rows(pa.table({"t": pa.array([], pa.string())}), ["text"]) is None
