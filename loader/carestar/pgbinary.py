"""PostgreSQL's binary COPY format, written column by column from Arrow.

PostgreSQL parses binary COPY input with far less work than CSV: 1M validated
encounter rows took its server 0.9 s in binary against 1.4 s as CSV (and 1.1 s
for the same file as untyped text). Each field is a big-endian int32 length
(-1 for NULL) and the value in the type's binary form; each row is an int16
field count and its fields. Here every field of every row is built as an Arrow
binary column with numpy (no Python loop per row), and pyarrow joins the
columns row by row: the joined column's data buffer is the COPY stream.

Types written: text (id, text, enum), date, timestamp (without time zone),
numeric (the contract's money, decimal(10, 2)), int4, int8 and boolean.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"  # signature, flags, extension
TRAILER = b"\xff\xff"
PG_EPOCH_DAYS = 10_957  # 2000-01-01 in days since 1970-01-01
PG_EPOCH_MICROS = PG_EPOCH_DAYS * 86_400 * 1_000_000
NUMERIC_NEGATIVE = 0x4000
MONEY_SCALE = 2

# numeric with two decimals as three base-10000 digits: [integer // 10^4, integer % 10^4, cents * 100]
# (PostgreSQL strips the leading zero digits itself); enough for |value| < 10^8, the contract's money
_NUMERIC = np.dtype(
    [
        ("ndigits", ">i2"),
        ("weight", ">i2"),
        ("sign", ">u2"),
        ("dscale", ">u2"),
        ("d0", ">i2"),
        ("d1", ">i2"),
        ("d2", ">i2"),
    ]
)
_MONEY_LIMIT = 10**10  # in cents


def _validity(column: pa.Array) -> np.ndarray:
    return column.is_valid().to_numpy(zero_copy_only=False)


def _lengths(lengths: np.ndarray, valid: np.ndarray) -> pa.Array:
    """Each field's length word: big-endian int32, -1 for NULL."""
    words = np.where(valid, lengths, -1).astype(">i4")
    return _fixed(words.tobytes(), 4, len(words))


def _fixed(data: bytes, width: int, n: int, valid: np.ndarray | None = None) -> pa.Array:
    """A binary column of n values of `width` bytes each (NULL where not valid)."""
    buffers = [None, pa.py_buffer(data)]
    if valid is not None and not valid.all():
        buffers[0] = pa.py_buffer(np.packbits(valid, bitorder="little").tobytes())
    return pa.FixedSizeBinaryArray.from_buffers(pa.binary(width), n, buffers).cast(pa.binary())


def _numbers(column: pa.Array, dtype: str) -> np.ndarray:
    """A numeric column's values as numpy (0 where NULL: those fields are written as NULL)."""
    return column.fill_null(0).to_numpy(zero_copy_only=False).astype(dtype)


def _money_cents(column: pa.Array) -> np.ndarray:
    """decimal128(10, 2) values as int64 cents (the unscaled value)."""
    if column.type.scale != MONEY_SCALE:
        raise ValueError(f"money must have scale {MONEY_SCALE}, not {column.type}")
    filled = column.fill_null(pa.scalar(0, column.type))
    if filled.offset:
        filled = pa.concat_arrays([filled])  # a copy that starts at offset 0
    words = np.frombuffer(filled.buffers()[1], dtype="<i8", count=2 * len(filled))
    low, high = words[0::2], words[1::2]
    if not np.array_equal(high, np.where(low < 0, -1, 0)):  # a value beyond int64 cannot be money
        raise ValueError("money value out of range")
    return low


def _numeric(column: pa.Array, valid: np.ndarray) -> tuple[pa.Array, pa.Array]:
    cents = _money_cents(column)
    magnitude = np.abs(cents)
    if (magnitude[valid] >= _MONEY_LIMIT).any():
        raise ValueError("money value out of range")
    whole, frac = np.divmod(magnitude, 100)
    out = np.zeros(len(cents), dtype=_NUMERIC)
    out["ndigits"] = 3
    out["weight"] = 1
    out["sign"] = np.where(cents < 0, NUMERIC_NEGATIVE, 0)
    out["dscale"] = MONEY_SCALE
    out["d0"], out["d1"] = np.divmod(whole, 10_000)
    out["d2"] = frac * 100
    n = len(cents)
    return _lengths(np.full(n, _NUMERIC.itemsize), valid), _fixed(out.tobytes(), _NUMERIC.itemsize, n, valid)


def field_parts(column: pa.Array, pg_type: str) -> tuple[pa.Array, pa.Array]:
    """(length words, values) of one column as binary columns, NULL values empty."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()  # one array: the parts of every column line up
    valid = _validity(column)
    n = len(column)
    if pg_type == "text":
        text = column.cast(pa.binary())
        lengths = pc.binary_length(text).fill_null(0).to_numpy(zero_copy_only=False)
        return _lengths(lengths, valid), text
    if pg_type == "numeric":
        return _numeric(column, valid)
    if pg_type == "date":
        values = (_numbers(column.cast(pa.int32()), "int64") - PG_EPOCH_DAYS).astype(">i4")
    elif pg_type == "timestamp":
        micros = column.cast(pa.timestamp("us")).cast(pa.int64())
        values = (_numbers(micros, "int64") - PG_EPOCH_MICROS).astype(">i8")
    elif pg_type == "int4":
        values = _numbers(column, "int64").astype(">i4")
    elif pg_type == "int8":
        values = _numbers(column, "int64").astype(">i8")
    elif pg_type == "bool":
        values = column.fill_null(False).to_numpy(zero_copy_only=False).astype("uint8")
    else:
        raise ValueError(f"no binary COPY writer for {pg_type}")
    width = values.dtype.itemsize
    return _lengths(np.full(n, width), valid), _fixed(values.tobytes(), width, n, valid)


def copy_rows(table: pa.Table, pg_types: list[str]) -> bytes | None:
    """The rows of `table` (columns in the COPY column order) as one binary COPY stream."""
    if len(pg_types) != table.num_columns:
        raise ValueError("one PostgreSQL type per column")
    if not table.num_rows:
        return None
    parts: list[pa.Array | pa.Scalar] = [pa.scalar(table.num_columns.to_bytes(2, "big"), pa.binary())]
    for column, pg_type in zip(table.columns, pg_types, strict=True):
        parts.extend(field_parts(column, pg_type))
    rows = pc.binary_join_element_wise(*parts, b"", null_handling="replace", null_replacement=b"")
    # The joined rows lie back to back in the column's data buffer: that is the stream.
    offsets = np.frombuffer(rows.buffers()[1], dtype="<i4")
    start, end = int(offsets[rows.offset]), int(offsets[rows.offset + len(rows)])
    return b"".join([HEADER, memoryview(rows.buffers()[2])[start:end], TRAILER])
