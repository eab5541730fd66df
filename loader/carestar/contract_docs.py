"""docs/landing-contract.md, written from carestar.contract so the docs cannot drift from the validator."""

from __future__ import annotations

from carestar.contract import (
    ENTITIES,
    FILE_RULES,
    FILE_SUFFIXES,
    ID_MAX_LENGTH,
    ROW_STRUCTURE_RULES,
    RULE_DESCRIPTIONS,
    STATE_REGIONS,
    Column,
    Kind,
    Rule,
)


def _type(col: Column) -> str:
    if col.kind is Kind.TEXT:
        text = f"text({col.width})"
        return text + (", a USPS state or territory code" if col.code_set else "")
    if col.kind is Kind.ENUM:
        canon: dict[str, list[str]] = {}
        for spelling, value in col.values.items():
            canon.setdefault(value, []).append(spelling)
        parts = [
            v if v in spellings and len(spellings) == 1 else f"{v} ({', '.join(spellings)})"
            for v, spellings in canon.items()
        ]
        return "enum: " + "; ".join(parts)
    if col.kind is Kind.INT and col.int_range:
        return f"int, {col.int_range[0]:,} to {col.int_range[1]:,}"
    if col.kind is Kind.DATE and col.date_range:
        return f"date, {col.date_range[0]} to {col.date_range[1]}"
    if col.kind is Kind.BOOL and col.default:
        return f"bool (default {col.default})"
    return col.kind.value


def render() -> str:
    lines = [
        "# Landing contract (as the loader enforces it)",
        "",
        "Written by `carestar contract-docs` from `loader/carestar/contract.py`, the one place the",
        "contract lives; a test fails when this page is stale. The source of truth for what source",
        "systems send is `shared/spec/landing-contract.md`; this page adds the choices the loader made.",
        "",
        "## Files",
        "",
        "`<root>/<entity>/<any/sub/path>/<file>` with one of: " + ", ".join(f"`{s}`" for s in FILE_SUFFIXES) + ".",
        "Files and folders whose names start with `_` or `.` (`_SUCCESS`, `.part`) are passed over",
        "silently; other files (wrong suffix, unknown entity folder) are listed as ignored in the run report.",
        "",
        "## Choices where the contract is silent",
        "",
        f"- ids are trimmed; at most {ID_MAX_LENGTH} characters. Text values are kept as sent (not trimmed);",
        "  the empty string means no value. Dates, numbers, booleans and enums are trimmed before checking.",
        "- A timestamp without a zone is UTC; timestamps are stored in UTC. A date given as a timestamp",
        "  keeps its date part as written (no zone shift).",
        "- JSONL: numbers keep their exact text (`12.50` stays `12.50`); `true`/`false` are booleans;",
        "  an object or array as a value rejects the row (`json_nested_value`). A required key that no",
        "  line of the file has rejects the file (`header_missing_required`); a line without it is a",
        "  row rejection (`required_missing`). An empty JSONL file lands zero rows; an empty CSV file",
        "  (no header) is refused (`file_empty`).",
        "- Line numbers: CSV counts records with the header as line 1 (a record whose quoted field holds",
        "  a newline is one line); JSONL counts physical lines, blank ones included.",
        "- Enums and states are stored in their canonical form (`no-show` is stored as `missed`).",
        "- `hospital.state` is stored upper-case. Territories have no Census region: `Territories`.",
        "- A file with more than `--max-reject-ratio` (default 0.25) of its rows rejected is refused whole.",
        "",
        "## Entities",
        "",
    ]
    for entity in ENTITIES.values():
        lines += [
            f"### {entity.name}",
            "",
            f"Key: `{entity.key}`.",
            "",
            "| column | type | required |",
            "|---|---|---|",
        ]
        for col in entity.columns:
            lines.append(f"| `{col.name}` | {_type(col)} | {'yes' if col.required else ''} |")
        if entity.date_order:
            later, earlier = entity.date_order
            lines += ["", f"`{later}` may not be before `{earlier}`."]
        lines.append("")
    lines += ["## Rule codes", "", "| code | scope | meaning |", "|---|---|---|"]
    for rule in Rule:
        scope = "file" if rule in FILE_RULES else "row" if rule in ROW_STRUCTURE_RULES else "value"
        lines.append(f"| `{rule.value}` | {scope} | {RULE_DESCRIPTIONS[rule]} |")
    lines += [
        "",
        "`value` and `row` rules reject the row: it goes to `raw.rejected_rows` with its file, line,",
        "column (for value rules) and code, never its values. `file` rules refuse the whole file: nothing",
        "of it lands and its ledger row in `raw.load_ledger` says why.",
        "",
        "## States and Census regions",
        "",
        ", ".join(f"{s} {r}" for s, r in sorted(STATE_REGIONS.items())) + ".",
        "",
    ]
    return "\n".join(lines)
