"""Validate stage: text columns -> typed columns and rule codes, in bulk.

For each entity the contract (carestar.contract) is turned into one SQL
statement that DuckDB runs over an Arrow batch: every column gets a typed
value and a list of broken rules. Rows with no broken rule are valid; the
others become rejected-row records (line, column, rule), never their values.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from carestar.contract import (
    BOOL_FALSE,
    BOOL_TRUE,
    CODE_SETS,
    ID_MAX_LENGTH,
    Column,
    Entity,
    Kind,
    Rule,
)
from carestar.shapes import SHAPE_PREFIX, with_shapes

# YYYY-MM-DD, optionally followed by an ISO-8601 time and zone.
_ISO = (
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
    r"([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}([.,][0-9]+)?)?(Z|z|[+-][0-9]{2}(:?[0-9]{2})?)?)?"
)
_MONEY = r"-?[0-9]+(\.[0-9]{1,2})?"
_INT = r"[+-]?[0-9]+"

VALIDATED = "_carestar_validated"
_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1  # DuckDB's integer (typed INT columns)
ARROW_CHUNK_ROWS = 20_000


def _lit(text: str) -> str:
    """A SQL string literal for a constant from the contract (never input)."""
    return "'" + text.replace("'", "''") + "'"


def _in_list(values) -> str:
    return ", ".join(_lit(v) for v in values)


def _ident(name: str) -> str:
    if not name.replace("_", "").isalnum():
        raise ValueError(f"not a safe identifier: {name!r}")
    return f'"{name}"'


def _value(col: Column, present: set[str]) -> str:
    """The column's text with "no value" as NULL.

    Surrounding spaces are trimmed (except for free text); `trim` copies every
    string it returns, so it runs only on values that hold a space at all (one
    `contains` costs less than testing both ends with `like`).
    """
    if col.name not in present:
        return "cast(null as varchar)"
    src = _ident(col.name)
    if col.kind is Kind.TEXT:
        return f"nullif({src}, '')"
    return f"nullif(case when contains({src}, ' ') then trim({src}) else {src} end, '')"


def _date_in_range(col: Column, typed: str) -> str | None:
    if not col.date_range:
        return None
    low, high = col.date_range
    parts = []
    if low:
        parts.append(f"{typed} < date {_lit(low)}")
    if high:
        parts.append(f"{typed} > current_date" if high == "today" else f"{typed} > date {_lit(high)}")
    return " or ".join(parts)


@dataclass(frozen=True)
class ColumnSql:
    """How one column is typed and checked.

    `typed` is written over v_<name> (the text, NULL when absent); `pattern`, when
    set, is the regular expression the text must match in full, evaluated once per
    row as m_<name>. `checks` are (condition that breaks a rule, rule), written over
    v_<name>, m_<name> and t_<name> (the typed value); they are evaluated only where
    the value is present. The required check is added separately.
    """

    typed: str
    pattern: str | None
    checks: list[tuple[str, Rule]]
    shaped_typed: str | None = None  # `typed`, simpler, for values whose shape flag is set


def column_sql(col: Column) -> ColumnSql:
    v, m, t = f"v_{col.name}", f"m_{col.name}", f"t_{col.name}"
    if col.kind is Kind.ID:
        return ColumnSql(v, None, [(f"length({v}) > {ID_MAX_LENGTH}", Rule.ID_TOO_LONG)])
    if col.kind is Kind.TEXT:
        too_long = (f"length({v}) > {col.width}", Rule.TEXT_TOO_LONG)
        if col.code_set:
            listed = (f"{t} not in ({_in_list(CODE_SETS[col.code_set])})", Rule.CODE_INVALID)
            return ColumnSql(f"upper(trim({v}))", None, [too_long, listed])
        return ColumnSql(v, None, [too_long])
    if col.kind is Kind.DATE:
        checks = [(f"not {m} or {t} is null", Rule.DATE_INVALID)]
        out = _date_in_range(col, t)
        if out:
            checks.append((f"coalesce({out}, false)", Rule.DATE_OUT_OF_RANGE))
        return ColumnSql(f"try_cast(substr({v}, 1, 10) as date)", _ISO, checks)
    if col.kind is Kind.TIMESTAMP:
        # A zone offset (a sign after the date) or a decimal comma takes the slower way
        # through timestamptz; a value in UTC ('Z') or without a zone is cast directly.
        zoned = f"contains(substr({v}, 11), '+') or contains(substr({v}, 11), '-') or contains({v}, ',')"
        in_utc = f"cast(timezone('UTC', try_cast(replace({v}, ',', '.') as timestamptz)) as timestamp)"
        plain = f"try_cast({v} as timestamp)"
        typed = f"case when {zoned} then {in_utc} else {plain} end"
        # a shaped timestamp has no zone offset and no comma: it takes the plain cast
        return ColumnSql(typed, _ISO, [(f"not {m} or {t} is null", Rule.TIMESTAMP_INVALID)], plain)
    if col.kind is Kind.MONEY:
        # A matched amount has at most two decimals, so decimal(10, 2) fails to hold it
        # exactly when its size is above MONEY_MAX_ABS, that type's largest value
        # (test_validate_numbers checks it against Python's Decimal).
        too_big = f"{m} and {t} is null"
        return ColumnSql(
            f"try_cast({v} as decimal(10, 2))",
            _MONEY,
            [(f"not {m}", Rule.MONEY_INVALID), (too_big, Rule.MONEY_OUT_OF_RANGE)],
        )
    if col.kind is Kind.INT:
        low, high = col.int_range or (_INT_MIN, _INT_MAX)
        if not _INT_MIN <= low <= high <= _INT_MAX:
            raise ValueError(f"{col.name}: an integer range must lie within the integer type's")
        # A matched integer fails the cast to integer only when outside the type's range,
        # which holds the column's: out of range either way.
        outside = f"{m} and coalesce({t} not between {low} and {high}, true)"
        return ColumnSql(
            f"try_cast({v} as integer)",
            _INT,
            [(f"not {m}", Rule.INT_INVALID), (outside, Rule.INT_OUT_OF_RANGE)],
        )
    if col.kind is Kind.BOOL:
        typed = (
            f"case when lower({v}) in ({_in_list(BOOL_TRUE)}) then true"
            f" when lower({v}) in ({_in_list(BOOL_FALSE)}) then false end"
        )
        if col.default is not None:
            typed = f"coalesce({typed}, {col.default})"
        return ColumnSql(typed, None, [(f"lower({v}) not in ({_in_list(BOOL_TRUE + BOOL_FALSE)})", Rule.BOOL_INVALID)])
    if col.kind is Kind.ENUM:
        cases = " ".join(f"when {_lit(k)} then {_lit(val)}" for k, val in col.values.items())
        return ColumnSql(
            f"case lower({v}) {cases} end", None, [(f"lower({v}) not in ({_in_list(col.values)})", Rule.ENUM_INVALID)]
        )
    raise ValueError(col.kind)  # pragma: no cover - every kind is handled above


def _matched(name: str, pattern: str, shaped: bool) -> str:
    """Whether v_<name> matches `pattern` in full; a value whose shape flag
    (carestar.shapes) is set matches without running the expression."""
    match = f"regexp_full_match(v_{name}, {_lit(pattern)})"
    return f"case when {SHAPE_PREFIX}{name} then true else {match} end" if shaped else match


def _typed(name: str, spec: ColumnSql, shaped: bool) -> str:
    if shaped and spec.shaped_typed:
        return f"case when {SHAPE_PREFIX}{name} then {spec.shaped_typed} else {spec.typed} end"
    return spec.typed


def validation_sql(entity: Entity, source: str, present: set[str]) -> str:
    """SELECT over `source` giving typed columns, `_line` and `_errors` (list of 'column:rule').

    Three steps, each a subquery: the texts (v_), then each pattern matched once
    (m_) and each typed value (t_), then the broken rules. The list of broken
    rules is built only for rows that break one: most rows break none.
    """
    specs = {c.name: column_sql(c) for c in entity.columns}
    shaped = [n for n, s in specs.items() if s.pattern and SHAPE_PREFIX + n in present]
    texts = [f"{_value(c, present)} as v_{c.name}" for c in entity.columns]
    texts += [SHAPE_PREFIX + n for n in shaped]
    derived = [f"v_{c.name}" for c in entity.columns]
    derived += [f"{_matched(n, s.pattern, n in shaped)} as m_{n}" for n, s in specs.items() if s.pattern]
    derived += [f"{_typed(n, s, n in shaped)} as t_{n}" for n, s in specs.items()]
    broken: list[tuple[str, str]] = []  # (condition, 'column:rule')
    for col in entity.columns:
        v = f"v_{col.name}"
        if col.required:
            broken.append((f"{v} is null", f"{col.name}:{Rule.REQUIRED_MISSING.value}"))
        for cond, rule in specs[col.name].checks:
            broken.append((f"{v} is not null and ({cond})", f"{col.name}:{rule.value}"))
    if entity.date_order:
        later, earlier = entity.date_order
        broken.append((f"t_{later} < t_{earlier}", f"{later}:{Rule.DATE_ORDER.value}"))
    typed_cols = ", ".join(f"t_{c.name} as {_ident(c.name)}" for c in entity.columns)
    items = ", ".join(f"case when {cond} then {_lit(code)} end" for cond, code in broken)
    any_broken = " or ".join(f"({cond})" for cond, _ in broken)
    sep = ",\n        "
    return f"""
select
    {typed_cols},
    _line,
    case when {any_broken} then list_filter([{items}], lambda x: x is not null)
        else cast([] as varchar[]) end as _errors
from (
    select
        {sep.join(derived)},
        _line
    from (
        select
            {sep.join(texts)},
            _line
        from {source}
    ) as texts
) as v"""


def validated_arrow(con: duckdb.DuckDBPyConnection, entity: Entity, table: pa.Table) -> pa.Table:
    """One Arrow batch validated: typed columns, `_line` and `_errors`, as Arrow."""
    _carestar_batch = with_shapes(entity, table)  # found by DuckDB through its name (a replacement scan)
    present = {n for n in _carestar_batch.column_names if n != "_line"}
    # in chunks, so the insert that reads it scans them on every core
    return con.sql(validation_sql(entity, "_carestar_batch", present)).to_arrow_table(ARROW_CHUNK_ROWS)


def valid_count(validated: pa.Table) -> int:
    return int(pc.sum(pc.equal(pc.list_value_length(validated.column("_errors")), 0)).as_py() or 0)


def validate_batch(con: duckdb.DuckDBPyConnection, entity: Entity, table: pa.Table) -> tuple[int, int]:
    """Validate one Arrow batch into the temp table VALIDATED; returns (valid rows, rejected rows)."""
    # DuckDB finds the batch by this variable's name (a replacement scan). Not register():
    # inside a transaction a registered table stays pinned until it ends.
    _carestar_batch = with_shapes(entity, table)
    present = {n for n in _carestar_batch.column_names if n != "_line"}
    con.execute(f"create or replace temp table {VALIDATED} as {validation_sql(entity, '_carestar_batch', present)}")
    valid, rejected = con.execute(
        f"select count(*) filter (where len(_errors) = 0), count(*) filter (where len(_errors) > 0) from {VALIDATED}"
    ).fetchall()[0]
    return int(valid), int(rejected)


def valid_rows_sql(entity: Entity, source: str = VALIDATED) -> str:
    cols = ", ".join(_ident(c) for c in entity.column_names)
    return f"select {cols}, _line from {source} where len(_errors) = 0"


def rejects_sql(source: str = VALIDATED) -> str:
    """Rejected (line, column, rule) triples of the current batch."""
    return f"""
select _line as line, split_part(e, ':', 1) as column_name, split_part(e, ':', 2) as rule_code
from (select _line, unnest(_errors) as e from {source} where len(_errors) > 0) as r"""
