"""Common shapes of pattern-checked values, recognised in bulk on Arrow's bytes.

Dates, timestamps, amounts and integers must match a regular expression in
full (carestar.validate). Matching one costs DuckDB ~60-130 ns a value, a third
of the validation's time, though nearly every value comes in one of a few
shapes: `2025-12-01`, `2026-11-01T02:00:00Z`, `1551.07`, `477`. This module
recognises those shapes with numpy over a batch's raw bytes, a few ns a value,
into a flag column `_shape_<column>` per checked column. The validation SQL
takes a flagged value as matched and runs the regular expression only on the
others, so a flag may say "matches" only where the expression would: every
shape here is a special case of its column's pattern (loader/tests/test_shapes.py
checks both against each other). A flag of false decides nothing.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from carestar.contract import Entity, Kind

SHAPE_PREFIX = "_shape_"

# Fixed shapes: '9' stands for an ASCII digit, any other byte for itself. Each is a
# full match of validate._ISO (a date, then optionally 'T' hh:mm:ss and a zone).
ISO_SHAPES = (b"9999-99-99", b"9999-99-99T99:99:99Z", b"9999-99-99T99:99:99")
# Digits, then optionally '.' and up to this many digits: a full match of validate._INT
# (0 places) and validate._MONEY (2 places) alike.
DECIMAL_PLACES = {Kind.INT: 0, Kind.MONEY: 2}

_DOT = ord(".")


def shaped_columns(entity: Entity, present: set[str]) -> list[str]:
    """The entity's columns (among those read) whose common shapes are recognised here."""
    kinds = {Kind.DATE, Kind.TIMESTAMP, *DECIMAL_PLACES}
    return [c.name for c in entity.columns if c.kind in kinds and c.name in present]


def with_shapes(entity: Entity, table: pa.Table) -> pa.Table:
    """`table` plus a boolean `_shape_<column>` per recognised column: true where the value
    has a common shape of its column's pattern (and so matches it), false elsewhere."""
    kinds = {c.name: c.kind for c in entity.columns}
    for name in shaped_columns(entity, set(table.column_names)):
        column = table.column(name)
        if not pa.types.is_string(column.type):
            continue  # only what the readers give (utf8); the expression decides the rest
        flags = [pa.array(_shaped(chunk, kinds[name]), pa.bool_()) for chunk in column.chunks]
        table = table.append_column(SHAPE_PREFIX + name, pa.chunked_array(flags, pa.bool_()))
    return table


def _shaped(chunk: pa.Array, kind: Kind) -> np.ndarray:
    """One chunk's flags (numpy bools, one per value)."""
    if len(chunk) == 0:
        return np.zeros(0, dtype=bool)
    buffers = chunk.buffers()
    offsets = np.frombuffer(buffers[1], np.int32)[chunk.offset : chunk.offset + len(chunk) + 1]
    data = np.frombuffer(buffers[2], np.uint8) if buffers[2] is not None else np.zeros(0, np.uint8)
    if kind in DECIMAL_PLACES:
        flags = _decimal(data, offsets, DECIMAL_PLACES[kind])
    else:
        lengths = np.diff(offsets)
        flags = np.zeros(len(chunk), dtype=bool)
        for shape in _FIXED:
            flags |= shape.fits(data, offsets[:-1], lengths)
    if chunk.null_count:
        flags &= chunk.is_valid().to_numpy(zero_copy_only=False)
    return flags


class _FixedShape:
    """Values of exactly one length whose bytes fit a shape, a digit for each '9'.

    The bytes are compared a machine word at a time: per byte, a mask and a wanted value
    (0xF0 and 0x30 for a digit, so its high half is 3; 0xFF and the byte itself for a
    literal), then again after adding 6 to each digit byte, which carries out of its low
    half (and so out of 0x3_) exactly when that half is above 9. Where the first test
    holds every digit byte is 0x30-0x3F, so the addition never carries into the next byte.
    """

    def __init__(self, shape: bytes) -> None:
        self.width = len(shape)
        size = next(s for s in (8, 4, 2, 1) if self.width % s == 0)
        self.word = np.dtype(f"<u{size}")
        digit = [b == ord("9") for b in shape]
        self.mask = self._words(0xF0 if d else 0xFF for d in digit)
        self.want = self._words(0x30 if d else b for d, b in zip(digit, shape, strict=True))
        self.add = self._words(0x06 if d else 0 for d in digit)

    def _words(self, values) -> np.ndarray:
        return np.frombuffer(bytes(values), self.word)

    def fits(self, data: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        flags = lengths == self.width
        hit = starts[flags]
        if hit.size == 0:
            return flags
        if hit[-1] - hit[0] == (hit.size - 1) * self.width:
            # Only empty values lie between these: their bytes are one run, read in place.
            block = data[hit[0] : hit[0] + hit.size * self.width]
        else:
            block = data[(hit[:, None] + np.arange(self.width)).ravel()]
        words = block.view(self.word).reshape(hit.size, -1)
        fit = np.ones(hit.size, dtype=bool)
        for j, (mask, want, add) in enumerate(zip(self.mask, self.want, self.add, strict=True)):
            column = words[:, j]
            fit &= (column & mask) == want
            fit &= ((column + add) & mask) == want
        flags[flags] = fit
        return flags


_FIXED = tuple(_FixedShape(shape) for shape in ISO_SHAPES)


def _decimal(data: np.ndarray, offsets: np.ndarray, places: int) -> np.ndarray:
    """Values of one or more digits, then optionally '.' and 1..`places` digits."""
    starts, ends = offsets[:-1], offsets[1:]
    lengths = ends - starts
    first, last = int(offsets[0]), int(offsets[-1])
    if last == first:
        return np.zeros(len(lengths), dtype=bool)  # every value empty
    # Per value, how many of its bytes are not digits: a running count over the bytes,
    # read at each value's end and start.
    running = np.zeros(last - first + 1, dtype=np.int32)
    np.cumsum(data[first:last] - np.uint8(ord("0")) >= 10, out=running[1:])
    others = running[ends - first] - running[starts - first]
    flags = (lengths > 0) & (others == 0)
    for n in range(1, places + 1):
        # the one byte not a digit is the '.' n digits from the end, after a digit
        dot = data[np.maximum(ends - n - 1, 0)] == _DOT
        flags |= (lengths >= n + 2) & (others == 1) & dot
    return flags
