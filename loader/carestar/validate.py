"""Validate stage: text columns -> typed columns and rule codes, in bulk.

For each entity the contract (carestar.contract) is turned into one SQL
statement that DuckDB runs over an Arrow batch: every column gets a typed
value and a list of broken rules. Rows with no broken rule are valid; the
others become rejected-row records (line, column, rule), never their values.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from carestar.contract import (
    BOOL_FALSE,
    BOOL_TRUE,
    CODE_SETS,
    ID_MAX_LENGTH,
    MONEY_MAX_ABS,
    Column,
    Entity,
    Kind,
    Rule,
)

# YYYY-MM-DD, optionally followed by an ISO-8601 time and zone.
_ISO = (
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
    r"([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}([.,][0-9]+)?)?(Z|z|[+-][0-9]{2}(:?[0-9]{2})?)?)?"
)
_MONEY = r"-?[0-9]+(\.[0-9]{1,2})?"
_INT = r"[+-]?[0-9]+"

VALIDATED = "_carestar_validated"
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
    """The column's text with "no value" as NULL."""
    if col.name not in present:
        return "cast(null as varchar)"
    src = _ident(col.name)
    if col.kind is Kind.TEXT:
        return f"nullif({src}, '')"
    return f"nullif(trim({src}), '')"


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


def column_sql(col: Column, present: set[str]) -> tuple[str, list[tuple[str, Rule]]]:
    """(typed expression, [(condition that breaks a rule, rule)]) for one column.

    Conditions are evaluated only where the value is present; the required
    check is added separately.
    """
    v = f"v_{col.name}"
    checks: list[tuple[str, Rule]] = []
    if col.kind is Kind.ID:
        typed = v
        checks.append((f"length({v}) > {ID_MAX_LENGTH}", Rule.ID_TOO_LONG))
    elif col.kind is Kind.TEXT:
        typed = v
        checks.append((f"length({v}) > {col.width}", Rule.TEXT_TOO_LONG))
        if col.code_set:
            typed = f"upper(trim({v}))"
            checks.append((f"upper(trim({v})) not in ({_in_list(CODE_SETS[col.code_set])})", Rule.CODE_INVALID))
    elif col.kind is Kind.DATE:
        typed = f"try_cast(substr({v}, 1, 10) as date)"
        checks.append((f"not regexp_full_match({v}, {_lit(_ISO)}) or {typed} is null", Rule.DATE_INVALID))
        out = _date_in_range(col, typed)
        if out:
            checks.append((f"coalesce({out}, false)", Rule.DATE_OUT_OF_RANGE))
    elif col.kind is Kind.TIMESTAMP:
        tz = f"try_cast(replace({v}, ',', '.') as timestamptz)"
        typed = f"cast(timezone('UTC', {tz}) as timestamp)"
        checks.append((f"not regexp_full_match({v}, {_lit(_ISO)}) or {tz} is null", Rule.TIMESTAMP_INVALID))
    elif col.kind is Kind.MONEY:
        typed = f"try_cast({v} as decimal(10, 2))"
        checks.append((f"not regexp_full_match({v}, {_lit(_MONEY)})", Rule.MONEY_INVALID))
        checks.append(
            (
                f"regexp_full_match({v}, {_lit(_MONEY)}) and coalesce(abs(try_cast({v} as decimal(38, 2)))"
                f" > {MONEY_MAX_ABS}, true)",
                Rule.MONEY_OUT_OF_RANGE,
            )
        )
    elif col.kind is Kind.INT:
        low, high = col.int_range or (-(2**31), 2**31 - 1)
        typed = f"try_cast({v} as integer)"
        checks.append((f"not regexp_full_match({v}, {_lit(_INT)})", Rule.INT_INVALID))
        checks.append(
            (
                f"regexp_full_match({v}, {_lit(_INT)}) and coalesce(try_cast({v} as hugeint)"
                f" not between {low} and {high}, true)",
                Rule.INT_OUT_OF_RANGE,
            )
        )
    elif col.kind is Kind.BOOL:
        typed = (
            f"case when lower({v}) in ({_in_list(BOOL_TRUE)}) then true"
            f" when lower({v}) in ({_in_list(BOOL_FALSE)}) then false end"
        )
        checks.append((f"lower({v}) not in ({_in_list(BOOL_TRUE + BOOL_FALSE)})", Rule.BOOL_INVALID))
        if col.default is not None:
            typed = f"coalesce({typed}, {col.default})"
    elif col.kind is Kind.ENUM:
        cases = " ".join(f"when {_lit(k)} then {_lit(val)}" for k, val in col.values.items())
        typed = f"case lower({v}) {cases} end"
        checks.append((f"lower({v}) not in ({_in_list(col.values)})", Rule.ENUM_INVALID))
    else:  # pragma: no cover - every kind is handled above
        raise ValueError(col.kind)
    return typed, checks


def validation_sql(entity: Entity, source: str, present: set[str]) -> str:
    """SELECT over `source` giving typed columns, `_line` and `_errors` (list of 'column:rule')."""
    values = ",\n        ".join(f"{_value(c, present)} as v_{c.name}" for c in entity.columns)
    typed_cols: list[str] = []
    error_items: list[str] = []
    for col in entity.columns:
        typed, checks = column_sql(col, present)
        typed_cols.append(f"{typed} as {_ident(col.name)}")
        v = f"v_{col.name}"
        if col.required:
            error_items.append(f"case when {v} is null then {_lit(col.name + ':' + Rule.REQUIRED_MISSING.value)} end")
        for cond, rule in checks:
            error_items.append(f"case when {v} is not null and ({cond}) then {_lit(col.name + ':' + rule.value)} end")
    if entity.date_order:
        later, earlier = entity.date_order
        later_t, _ = column_sql(entity.column(later), present)
        earlier_t, _ = column_sql(entity.column(earlier), present)
        error_items.append(f"case when {later_t} < {earlier_t} then {_lit(later + ':' + Rule.DATE_ORDER.value)} end")
    return f"""
select
    {", ".join(typed_cols)},
    _line,
    list_filter([{", ".join(error_items)}], lambda x: x is not null) as _errors
from (
    select
        {values},
        _line
    from {source}
) as v"""


def validated_arrow(con: duckdb.DuckDBPyConnection, entity: Entity, table: pa.Table) -> pa.Table:
    """One Arrow batch validated: typed columns, `_line` and `_errors`, as Arrow."""
    present = {n for n in table.column_names if n != "_line"}
    _carestar_batch = table  # found by DuckDB through its name (a replacement scan)
    # in chunks, so the insert that reads it scans them on every core
    return con.sql(validation_sql(entity, "_carestar_batch", present)).to_arrow_table(ARROW_CHUNK_ROWS)


def valid_count(validated: pa.Table) -> int:
    return int(pc.sum(pc.equal(pc.list_value_length(validated.column("_errors")), 0)).as_py() or 0)


def validate_batch(con: duckdb.DuckDBPyConnection, entity: Entity, table: pa.Table) -> tuple[int, int]:
    """Validate one Arrow batch into the temp table VALIDATED; returns (valid rows, rejected rows)."""
    present = {n for n in table.column_names if n != "_line"}
    # DuckDB finds the batch by this variable's name (a replacement scan). Not register():
    # inside a transaction a registered table stays pinned until it ends.
    _carestar_batch = table
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
