"""Read stage: a landing file's bytes -> batches of text columns.

CSV goes through pyarrow's streaming reader (bulk, no Python loop per row).
JSONL goes a block of lines at a time through pyarrow's JSON reader where every
value in the block is a string or null, and line by line through Python's json
where it is not (it keeps a number's literal text, which pyarrow would not).
Both yield Arrow tables whose columns are the contract's column names (text, as
read) plus `_line`, and report row-structure rejects (ragged CSV rows, bad JSON
lines) with their line numbers. Values are never logged.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.json as pajson

from carestar.contract import Entity, Rule, normalize_header

# Rows per batch handed to validation and landing. Where those run in turn in threads
# (PostgreSQL), a file's first batch is validated before anything lands and its last lands
# after validation is done: half of 100k rows took 1M encounters into PostgreSQL ~7% faster.
# DuckDB holds batches until HELD_ROWS before inserting, so it is indifferent to it.
BATCH_ROWS = 50_000
QUOTE_CHUNK_BYTES = 1 << 20
_QUOTE = ord('"')
# pyarrow's streaming reader holds many blocks in flight: memory grows with the block size.
# 1 MB parses as fast as 2 MB and keeps a 2 GB file's load ~50 MB lower.
CSV_BLOCK_BYTES = 1 << 20
# JSONL is read a block of whole lines at a time (see _read_jsonl): 8 MB is ~36k encounters;
# 1 MB blocks read a 1M-encounter file 60% slower, 16 MB no faster.
JSON_BLOCK_BYTES = 8 << 20
_BOM = b"\xef\xbb\xbf"


class FileError(Exception):
    """The whole file is rejected; nothing of it lands."""

    def __init__(self, rule: Rule, detail: str) -> None:
        super().__init__(f"{rule.value}: {detail}")
        self.rule = rule
        self.detail = detail


@dataclass
class RowReject:
    line: int
    column: str | None
    rule: Rule


@dataclass
class Batch:
    """Rows read from one file: text columns named as in the contract, plus `_line`."""

    table: pa.Table
    rejects: list[RowReject]
    validated: object = None  # the target's validation of `table`, when made in the reader's thread


@dataclass
class FileShape:
    """What reading learned about a file besides its rows."""

    unknown_columns: list[str] = field(default_factory=list)
    rows_read: int = 0
    bytes_read: int = 0


class _Tap(io.RawIOBase):
    """Pass-through reader that counts bytes and double quotes.

    An RFC 4180 file has an even number of quote characters; an odd count
    means a quote was never closed, which pyarrow would otherwise accept by
    swallowing the rest of the file into one field.
    """

    def __init__(self, inner: BinaryIO) -> None:
        self._inner = inner
        self.bytes = 0
        self.quotes = 0

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:  # type: ignore[override]
        data = self._inner.read(len(b))
        n = len(data)
        b[:n] = data
        self.bytes += n
        self.quotes += data.count(b'"')
        return n


def file_format(name: str) -> tuple[str, bool]:
    """('csv'|'jsonl', gzipped) from a file name."""
    lower = name.lower()
    gz = lower.endswith(".gz")
    if gz:
        lower = lower[:-3]
    if lower.endswith(".csv"):
        return "csv", gz
    if lower.endswith(".jsonl"):
        return "jsonl", gz
    raise ValueError(f"not a landing file: {name}")


def read_file(stream: BinaryIO, name: str, entity: Entity, shape: FileShape) -> Iterator[Batch]:
    """Yield batches of one file. Raises FileError for whole-file problems."""
    fmt, gz = file_format(name)
    path = _local_path(stream) if fmt == "csv" and not gz else None
    if path is not None:
        yield from _read_local_csv(stream, path, entity, shape)
        return
    raw_tap = _Tap(stream)
    source: BinaryIO = io.BufferedReader(raw_tap, buffer_size=1 << 20)
    if gz:
        source = gzip.GzipFile(fileobj=source, mode="rb")  # type: ignore[assignment]
    text_tap = _Tap(source)
    buffered = io.BufferedReader(text_tap, buffer_size=1 << 20)

    def quotes() -> int:
        while text_tap.read(1 << 20):
            pass
        return text_tap.quotes

    try:
        if fmt == "csv":
            yield from _read_csv(buffered, entity, shape, quotes)
        else:
            yield from _read_jsonl(buffered, entity, shape)
        # Read any trailer so the hash and byte count cover the whole object.
        while raw_tap.read(1 << 20):
            pass
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise FileError(Rule.FILE_UNREADABLE, type(exc).__name__) from None
    shape.bytes_read = raw_tap.bytes


def _local_path(stream: BinaryIO) -> str | None:
    """The path of the plain local file `stream` reads, or None for any other stream."""
    path = getattr(stream, "name", None)
    if not isinstance(path, str):
        return None
    try:
        return path if os.path.samestat(os.fstat(stream.fileno()), os.stat(path)) else None
    except (OSError, ValueError, io.UnsupportedOperation):
        return None


def _read_local_csv(stream: BinaryIO, path: str, entity: Entity, shape: FileShape) -> Iterator[Batch]:
    """An uncompressed local CSV: pyarrow reads the file itself, with no Python in its read loop.

    The bytes pass through no tap, so the quotes are counted in a pass of their own
    over the file (from the page cache, a few hundredths of a second per 100 MB).
    """

    def quotes() -> int:
        stream.seek(0)
        chunk = bytearray(QUOTE_CHUNK_BYTES)
        count = 0
        while n := stream.readinto(chunk):  # type: ignore[attr-defined]
            count += int(np.count_nonzero(np.frombuffer(chunk, np.uint8, n) == _QUOTE))
        return count

    try:
        with pa.OSFile(path) as body:
            yield from _read_csv(stream, entity, shape, quotes, body)
        shape.bytes_read = os.fstat(stream.fileno()).st_size
    except OSError as exc:
        raise FileError(Rule.FILE_UNREADABLE, type(exc).__name__) from None


def _map_header(names: list[str], entity: Entity, shape: FileShape) -> list[str]:
    """Contract names for header names; unknown columns get placeholder names."""
    wanted = set(entity.column_names)
    seen: set[str] = set()
    out: list[str] = []
    for i, raw in enumerate(names):
        name = normalize_header(raw)
        if name in seen:
            raise FileError(Rule.HEADER_DUPLICATE, f"column {name!r} appears twice in the header")
        seen.add(name)
        if name in wanted:
            out.append(name)
        else:
            if name:
                shape.unknown_columns.append(name)
            out.append(f"_unknown_{i}")
    missing = [c for c in entity.required if c not in seen]
    if missing:
        raise FileError(Rule.HEADER_MISSING_REQUIRED, f"missing required column(s): {', '.join(missing)}")
    return out


def _read_csv(
    stream: BinaryIO,
    entity: Entity,
    shape: FileShape,
    quotes: Callable[[], int],
    body: pa.NativeFile | None = None,
) -> Iterator[Batch]:
    """Rows of a CSV file. The header is read from `stream`; the rows from `body` when
    given (a native file over the same bytes, read from just after the header), else
    from `stream`. `quotes` counts the file's double quotes once its rows are read."""
    header_bytes = stream.readline()
    if not header_bytes.strip(b"\r\n\xef\xbb\xbf \t"):
        raise FileError(Rule.FILE_EMPTY, "no header line")
    try:
        header_text = header_bytes.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise FileError(Rule.FILE_ENCODING, "header line is not UTF-8") from None
    header = next(csv.reader([header_text]))
    names = _map_header(header, entity, shape)
    present = [n for n in names if not n.startswith("_unknown_")]

    skipped: list[int] = []  # lines (header = 1) of ragged records

    def on_invalid(row) -> str:
        # pyarrow counts records from the first one it reads: the line after the header
        skipped.append(int(row.number) + 1 if row.number is not None else -1)
        return "skip"

    if body is not None:
        body.seek(stream.tell())
    try:
        reader = pacsv.open_csv(
            stream if body is None else body,
            read_options=pacsv.ReadOptions(column_names=names, use_threads=False, block_size=CSV_BLOCK_BYTES),
            parse_options=pacsv.ParseOptions(newlines_in_values=True, invalid_row_handler=on_invalid),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names},
                include_columns=present,
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except pa.ArrowInvalid as exc:
        if "Empty CSV file" in str(exc):  # header only
            _check_quotes(quotes)
            return
        raise _arrow_error(exc) from None

    valid_so_far = 0
    reported = 0
    # The reader decodes small blocks (its memory grows with the block size); they are
    # handed on in batches of about BATCH_ROWS, so each batch costs few statements.
    pending: list[pa.Table] = []
    pending_rejects: list[RowReject] = []
    pending_rows = 0
    while True:
        try:
            record_batch = reader.read_next_batch()
        except StopIteration:
            break
        except pa.ArrowInvalid as exc:
            raise _arrow_error(exc) from None
        n = record_batch.num_rows
        # Line of each valid row: its ordinal plus the header, plus every ragged
        # record before it (pyarrow reports those before yielding their batch).
        thresholds = np.sort(np.asarray(skipped, dtype=np.int64)) - 2 - np.arange(len(skipped))
        ordinals = np.arange(valid_so_far, valid_so_far + n, dtype=np.int64)
        lines = ordinals + 2 + np.searchsorted(thresholds, ordinals, side="right")
        valid_so_far += n
        rejects = [RowReject(s, None, Rule.ROW_RAGGED) for s in skipped[reported:]]
        reported = len(skipped)
        shape.rows_read += n + len(rejects)
        pending.append(pa.Table.from_batches([record_batch]).append_column("_line", pa.array(lines)))
        pending_rejects += rejects
        pending_rows += n
        if pending_rows >= BATCH_ROWS:
            yield Batch(pa.concat_tables(pending), pending_rejects)
            pending, pending_rejects, pending_rows = [], [], 0
    _check_quotes(quotes)
    if len(skipped) > reported:
        pending_rejects += [RowReject(s, None, Rule.ROW_RAGGED) for s in skipped[reported:]]
        shape.rows_read += len(skipped) - reported
    if pending or pending_rejects:
        yield Batch(pa.concat_tables(pending) if pending else _empty_table(present), pending_rejects)


def _check_quotes(quotes: Callable[[], int]) -> None:
    if quotes() % 2:
        raise FileError(Rule.FILE_MALFORMED, "unbalanced double quote")


def _arrow_error(exc: pa.ArrowInvalid) -> FileError:
    text = str(exc)
    if "UTF8" in text or "UTF-8" in text:
        return FileError(Rule.FILE_ENCODING, "invalid UTF-8 data")
    # Arrow's message may quote row content: keep only its first clause.
    return FileError(Rule.FILE_MALFORMED, text.split(":")[0][:120])


def _empty_table(columns: list[str]) -> pa.Table:
    arrays = [pa.array([], pa.string()) for _ in columns] + [pa.array([], pa.int64())]
    return pa.Table.from_arrays(arrays, names=[*columns, "_line"])


def _json_text(value: object) -> str | None:
    if value is None:
        return None
    if value is True:
        return "true"
    if value is False:
        return "false"
    return str(value)


class _JsonlFile:
    """What a JSONL file's blocks tell of the whole file: the keys seen, and the unknown ones."""

    def __init__(self, entity: Entity) -> None:
        self.entity = entity
        self.wanted = entity.column_names
        self.wanted_set = set(self.wanted)
        self.schema = pa.schema([(c, pa.string()) for c in self.wanted])
        self.seen_keys: set[str] = set()
        self.unknown: set[str] = set()
        # One decoder for the file: json.loads builds a new one per call when given hooks.
        self.decoder = json.JSONDecoder(parse_float=str, parse_int=str, parse_constant=str)


def _read_jsonl(stream: BinaryIO, entity: Entity, shape: FileShape) -> Iterator[Batch]:
    """Rows of a JSONL file, read a block of whole lines at a time: in bulk by pyarrow where
    the block allows it (`_bulk_jsonl`), else line by line (`_jsonl_lines`)."""
    state = _JsonlFile(entity)
    first_line = 1
    for block in _line_blocks(stream, JSON_BLOCK_BYTES):
        table = None if first_line == 1 and block.startswith(_BOM) else _bulk_jsonl(block, state)
        if table is None:
            yield from _jsonl_lines(block, first_line, state, shape)
        elif table.num_rows:
            shape.rows_read += table.num_rows
            lines = pa.array(np.arange(first_line, first_line + table.num_rows, dtype=np.int64))
            yield Batch(table.append_column("_line", lines), [])
        first_line += _line_count(block)
    if shape.rows_read and not state.seen_keys.issuperset(entity.required):
        missing = sorted(set(entity.required) - state.seen_keys)
        raise FileError(Rule.HEADER_MISSING_REQUIRED, f"no line has required key(s): {', '.join(missing)}")
    shape.unknown_columns = sorted(state.unknown)


def _line_blocks(stream: BinaryIO, size: int) -> Iterator[bytes]:
    """The stream's bytes in blocks of about `size`, each ending at a line end (the last one
    wherever the stream ends). A line longer than `size` makes a longer block."""
    carry = b""
    while chunk := stream.read(size):
        data = carry + chunk
        cut = data.rfind(b"\n") + 1
        carry = data[cut:]
        if cut:
            yield data[:cut]
    if carry:
        yield carry


def _line_count(block: bytes) -> int:
    """Lines in a block from `_line_blocks`: its line ends, and a last line without one."""
    return block.count(b"\n") + (not block.endswith(b"\n"))


def _bulk_jsonl(block: bytes, state: _JsonlFile) -> pa.Table | None:
    """A block of lines parsed by pyarrow, or None where its rows could differ from
    `_jsonl_lines`'s, which then reads the block.

    pyarrow refuses (ArrowInvalid) a line that is not a JSON object, a key given twice, and a
    number, boolean or nested value under a contract column (the line-by-line reader keeps a
    number's literal text, which pyarrow would not). Beyond that the block goes line by line
    when it holds a blank line (pyarrow skips it, so line numbers would shift), bytes that are
    not UTF-8 (the other reader names the line), a key that only matches a column once
    normalised, or a required column with no value in any row (a key that is absent and one
    that is null read alike here; only the other reader tells the file-level error apart).
    """
    try:
        block.decode("utf-8")
        table = pajson.read_json(
            io.BytesIO(block),
            parse_options=pajson.ParseOptions(explicit_schema=state.schema, unexpected_field_behavior="infer"),
        )
    except (UnicodeDecodeError, pa.ArrowInvalid):
        return None
    if table.num_rows != _line_count(block):
        return None
    extra = [normalize_header(name) for name in table.column_names[len(state.wanted) :]]
    if state.wanted_set.intersection(extra):
        return None
    if any(table.column(c).null_count == table.num_rows for c in state.entity.required):
        return None
    state.unknown.update(extra)
    state.seen_keys.update(state.entity.required)
    return table.select(state.wanted)


def _jsonl_lines(block: bytes, first_line: int, state: _JsonlFile, shape: FileShape) -> Iterator[Batch]:
    """Rows of a block of lines read one at a time with Python's json, every oddity of the
    contract handled: blank lines skipped, numbers kept as their literal text, keys matched
    case-insensitively, bad lines rejected with their line numbers."""
    wanted = state.wanted
    columns: dict[str, list[str | None]] = {c: [] for c in wanted}
    lines: list[int] = []
    rejects: list[RowReject] = []
    names: dict[str, str] = {}  # key as written -> normalised

    def flush() -> Batch:
        table = pa.table(
            {**{c: pa.array(columns[c], pa.string()) for c in wanted}, "_line": pa.array(lines, pa.int64())}
        )
        batch = Batch(table, list(rejects))
        for c in wanted:
            columns[c].clear()
        lines.clear()
        rejects.clear()
        return batch

    for lineno, raw in enumerate(io.BytesIO(block), start=first_line):
        try:
            text = raw.decode("utf-8-sig" if lineno == 1 else "utf-8")
        except UnicodeDecodeError:
            raise FileError(Rule.FILE_ENCODING, f"line {lineno} is not UTF-8") from None
        if not text.strip():
            continue
        shape.rows_read += 1
        try:
            obj = state.decoder.decode(text)
        except ValueError:
            rejects.append(RowReject(lineno, None, Rule.JSON_INVALID))
            continue
        if not isinstance(obj, dict):
            rejects.append(RowReject(lineno, None, Rule.JSON_NOT_OBJECT))
            continue
        row: dict[str, str | None] = {}
        nested = False
        for key, value in obj.items():
            name = names.get(key)
            if name is None:
                name = names[key] = normalize_header(key)
            if name not in state.wanted_set:
                state.unknown.add(name)
                continue
            state.seen_keys.add(name)
            if isinstance(value, (dict, list)):
                rejects.append(RowReject(lineno, name, Rule.JSON_NESTED_VALUE))
                nested = True
                continue
            row[name] = _json_text(value)
        if nested:
            continue
        for c in wanted:
            columns[c].append(row.get(c))
        lines.append(lineno)
        if len(lines) >= BATCH_ROWS:
            yield flush()
    if lines or rejects:
        yield flush()
