"""The landing contract (shared/spec/landing-contract.md) as data.

This module is the one place the contract lives: the validator builds its SQL
from it, the generator writes rows that follow it, the docs list its rules and
the tests read it to know what to expect.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Kind(StrEnum):
    ID = "id"
    TEXT = "text"
    DATE = "date"
    TIMESTAMP = "timestamp"
    MONEY = "money"
    INT = "int"
    BOOL = "bool"
    ENUM = "enum"


ID_MAX_LENGTH = 64
MONEY_MAX_ABS = "99999999.99"
DATE_OF_BIRTH_MIN = "1900-01-01"

# Accepted spellings of booleans, lower-cased.
BOOL_TRUE = ("true", "t", "yes", "y", "1")
BOOL_FALSE = ("false", "f", "no", "n", "0")


@dataclass(frozen=True)
class Column:
    """One column of an entity: its contract type and rules."""

    name: str
    kind: Kind
    required: bool = False
    width: int | None = None  # text(n)
    # enum: accepted spelling (lower-case) -> canonical value stored
    values: dict[str, str] = field(default_factory=dict)
    int_range: tuple[int, int] | None = None
    date_range: tuple[str | None, str | None] | None = None  # (min, max); "today" allowed as max
    default: str | None = None  # canonical value when absent
    code_set: str | None = None  # a named code list the value must belong to ("usps_state")

    @property
    def sql_type(self) -> str:
        """The column's type in the raw schema (portable SQL)."""
        return {
            Kind.ID: f"varchar({ID_MAX_LENGTH})",
            Kind.TEXT: f"varchar({self.width})",
            Kind.DATE: "date",
            Kind.TIMESTAMP: "timestamp",
            Kind.MONEY: "decimal(10, 2)",
            Kind.INT: "integer",
            Kind.BOOL: "boolean",
            Kind.ENUM: f"varchar({max((len(v) for v in self.values.values()), default=1)})",
        }[self.kind]


@dataclass(frozen=True)
class Entity:
    """A landing entity: its folder name, key and columns."""

    name: str
    key: str
    columns: tuple[Column, ...]
    # (later, earlier): rows where `later` is before `earlier` are rejected
    date_order: tuple[str, str] | None = None

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def required(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


def _id(name: str, required: bool = False) -> Column:
    return Column(name, Kind.ID, required=required)


def _text(name: str, width: int, required: bool = False, code_set: str | None = None) -> Column:
    return Column(name, Kind.TEXT, required=required, width=width, code_set=code_set)


def _date(name: str, required: bool = False, date_range=None) -> Column:
    return Column(name, Kind.DATE, required=required, date_range=date_range)


def _money(name: str, required: bool = False) -> Column:
    return Column(name, Kind.MONEY, required=required)


def _enum(name: str, values: dict[str, str], required: bool = False) -> Column:
    return Column(name, Kind.ENUM, required=required, values=values)


def _bool(name: str, default: str | None = None) -> Column:
    return Column(name, Kind.BOOL, default=default)


UPDATED_AT = Column("updated_at", Kind.TIMESTAMP)

GENDER = {
    "m": "M",
    "f": "F",
    "u": "U",
    "o": "O",
    "male": "M",
    "female": "F",
    "unknown": "U",
    "other": "O",
}
CLAIM_STATUS = {v: v for v in ("submitted", "pending", "paid", "partially_paid", "denied")}
APPOINTMENT_STATUS = {v: v for v in ("scheduled", "completed", "missed", "cancelled")} | {
    "no-show": "missed",
    "no_show": "missed",
    "noshow": "missed",
}

ENTITIES: dict[str, Entity] = {
    e.name: e
    for e in (
        Entity(
            "patients",
            "patient_id",
            (
                _id("patient_id", required=True),
                _text("mrn", 20),
                _text("first_name", 50),
                _text("last_name", 50),
                _date("date_of_birth", date_range=(DATE_OF_BIRTH_MIN, "today")),
                _enum("gender", GENDER),
                _bool("is_active", default="true"),
                UPDATED_AT,
            ),
        ),
        Entity(
            "providers",
            "provider_id",
            (
                _id("provider_id", required=True),
                _text("provider_name", 100),
                _text("specialty", 50),
                _text("license_number", 20),
                _text("provider_group", 100),
                _id("hospital_id"),
                _bool("is_active"),
                UPDATED_AT,
            ),
        ),
        Entity(
            "hospitals",
            "hospital_id",
            (
                _id("hospital_id", required=True),
                _text("hospital_name", 100),
                _text("state", 2, code_set="usps_state"),
                _text("region", 50),
                _text("facility_type", 50),
                UPDATED_AT,
            ),
        ),
        Entity(
            "diagnoses",
            "diagnosis_code",
            (
                _text("diagnosis_code", 10, required=True),
                _text("description", 200),
                _text("category", 50),
                UPDATED_AT,
            ),
        ),
        Entity(
            "encounters",
            "encounter_id",
            (
                _id("encounter_id", required=True),
                _id("patient_id", required=True),
                _id("provider_id", required=True),
                _id("hospital_id", required=True),
                _text("diagnosis_code", 10),
                _date("encounter_date", required=True),
                _money("billing_amount"),
                Column("encounter_duration", Kind.INT, int_range=(0, 525_600)),
                UPDATED_AT,
            ),
        ),
        Entity(
            "claims",
            "claim_id",
            (
                _id("claim_id", required=True),
                _id("encounter_id"),
                _id("patient_id", required=True),
                _id("provider_id", required=True),
                _text("payer", 50),
                _date("submitted_date", required=True),
                _date("adjudicated_date"),
                _enum("claim_status", CLAIM_STATUS, required=True),
                _text("denial_reason_code", 10),
                _money("billed_amount", required=True),
                _money("allowed_amount"),
                _money("paid_amount"),
                UPDATED_AT,
            ),
            date_order=("adjudicated_date", "submitted_date"),
        ),
        Entity(
            "appointments",
            "appointment_id",
            (
                _id("appointment_id", required=True),
                _id("patient_id", required=True),
                _id("provider_id", required=True),
                _id("hospital_id"),
                _date("appointment_date", required=True),
                _enum("status", APPOINTMENT_STATUS, required=True),
                UPDATED_AT,
            ),
        ),
    )
}

# USPS codes of the states, DC and the territories, with the US Census region
# of each (territories belong to no Census region; they get "Territories").
STATE_REGIONS: dict[str, str] = {
    **dict.fromkeys(("CT", "ME", "MA", "NH", "RI", "VT", "NJ", "NY", "PA"), "Northeast"),
    **dict.fromkeys(("IL", "IN", "MI", "OH", "WI", "IA", "KS", "MN", "MO", "NE", "ND", "SD"), "Midwest"),
    **dict.fromkeys(
        ("DE", "DC", "FL", "GA", "MD", "NC", "SC", "VA", "WV", "AL", "KY", "MS", "TN", "AR", "LA", "OK", "TX"),
        "South",
    ),
    **dict.fromkeys(("AZ", "CO", "ID", "MT", "NV", "NM", "UT", "WY", "AK", "CA", "HI", "OR", "WA"), "West"),
    **dict.fromkeys(("AS", "GU", "MP", "PR", "VI", "UM"), "Territories"),
}
CODE_SETS: dict[str, tuple[str, ...]] = {"usps_state": tuple(sorted(STATE_REGIONS))}

FILE_SUFFIXES = (".csv", ".jsonl", ".csv.gz", ".jsonl.gz")


class Rule(StrEnum):
    """Why a row (or a whole file) was rejected. Codes are stable: reports and
    the LoadQuality mart group by them."""

    # value rules: one per broken rule per column
    REQUIRED_MISSING = "required_missing"
    ID_TOO_LONG = "id_too_long"
    TEXT_TOO_LONG = "text_too_long"
    DATE_INVALID = "date_invalid"
    DATE_OUT_OF_RANGE = "date_out_of_range"
    DATE_ORDER = "date_order_invalid"
    TIMESTAMP_INVALID = "timestamp_invalid"
    MONEY_INVALID = "money_invalid"
    MONEY_OUT_OF_RANGE = "money_out_of_range"
    INT_INVALID = "int_invalid"
    INT_OUT_OF_RANGE = "int_out_of_range"
    BOOL_INVALID = "bool_invalid"
    ENUM_INVALID = "enum_invalid"
    CODE_INVALID = "code_invalid"
    # row structure
    ROW_RAGGED = "row_ragged"
    JSON_INVALID = "json_invalid"
    JSON_NOT_OBJECT = "json_not_object"
    JSON_NESTED_VALUE = "json_nested_value"
    # whole file
    FILE_EMPTY = "file_empty"
    FILE_ENCODING = "file_encoding_invalid"
    FILE_MALFORMED = "file_malformed"
    FILE_UNREADABLE = "file_unreadable"
    HEADER_MISSING_REQUIRED = "header_missing_required"
    HEADER_DUPLICATE = "header_duplicate"
    REJECT_RATIO = "reject_ratio_exceeded"


RULE_DESCRIPTIONS: dict[Rule, str] = {
    Rule.REQUIRED_MISSING: "a required column has no value (empty string or null)",
    Rule.ID_TOO_LONG: f"an id is longer than {ID_MAX_LENGTH} characters",
    Rule.TEXT_TOO_LONG: "a text value is longer than its column's width, in characters",
    Rule.DATE_INVALID: "not YYYY-MM-DD or an ISO-8601 timestamp, or an impossible date",
    Rule.DATE_OUT_OF_RANGE: "a date outside its column's range (birth date in the future or before 1900)",
    Rule.DATE_ORDER: "adjudicated_date is before submitted_date",
    Rule.TIMESTAMP_INVALID: "not an ISO-8601 timestamp",
    Rule.MONEY_INVALID: "not a decimal with at most 2 places (symbols, separators, NaN, Inf, exponents)",
    Rule.MONEY_OUT_OF_RANGE: "absolute value above 99,999,999.99",
    Rule.INT_INVALID: "not a whole number",
    Rule.INT_OUT_OF_RANGE: "a whole number outside the column's range",
    Rule.BOOL_INVALID: "not one of true/false, t/f, yes/no, y/n, 1/0",
    Rule.ENUM_INVALID: "not one of the column's listed values",
    Rule.CODE_INVALID: "not in the column's code set (USPS state or territory code)",
    Rule.ROW_RAGGED: "a CSV row with more or fewer fields than the header",
    Rule.JSON_INVALID: "a JSONL line that is not valid JSON",
    Rule.JSON_NOT_OBJECT: "a JSONL line that is valid JSON but not an object",
    Rule.JSON_NESTED_VALUE: "a JSON value that is an object or an array",
    Rule.FILE_EMPTY: "the file has no header line",
    Rule.FILE_ENCODING: "the file is not valid UTF-8",
    Rule.FILE_MALFORMED: "the file cannot be parsed as CSV (for example an unbalanced quote)",
    Rule.FILE_UNREADABLE: "the file cannot be read (storage or decompression error)",
    Rule.HEADER_MISSING_REQUIRED: "a required column is missing from the header",
    Rule.HEADER_DUPLICATE: "two header names are the same once case and spaces are ignored",
    Rule.REJECT_RATIO: "the share of rejected rows is above --max-reject-ratio",
}

ROW_STRUCTURE_RULES = (Rule.ROW_RAGGED, Rule.JSON_INVALID, Rule.JSON_NOT_OBJECT)
FILE_RULES = (
    Rule.FILE_EMPTY,
    Rule.FILE_ENCODING,
    Rule.FILE_MALFORMED,
    Rule.FILE_UNREADABLE,
    Rule.HEADER_MISSING_REQUIRED,
    Rule.HEADER_DUPLICATE,
    Rule.REJECT_RATIO,
)


def normalize_header(name: str) -> str:
    """Header names and JSON keys match case-insensitively, ignoring surrounding spaces."""
    return name.strip().lstrip("\ufeff").strip().lower()
