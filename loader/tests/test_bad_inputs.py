"""The bad-input corpus: each case yields the right rule code (or file error), and every row is accounted for."""

from __future__ import annotations

import gzip
from dataclasses import dataclass, field

import pytest
from conftest import write

from carestar.contract import Rule

ENC_HEADER = (
    "encounter_id,patient_id,provider_id,hospital_id,diagnosis_code,encounter_date,billing_amount,encounter_duration"
)
ENC_OK = "E1,P1,D1,H1,E11.9,2025-03-01,100.00,30"
JSON_OK = '{"encounter_id":"E1","patient_id":"P1","provider_id":"D1","hospital_id":"H1","encounter_date":"2025-03-01"}'


def enc(*rows: str, header: str = ENC_HEADER) -> str:
    return "\n".join([header, *rows]) + "\n"


def enc_with(column: str, value: str) -> str:
    """One encounter row, valid but for `column`."""
    values = dict(zip(ENC_HEADER.split(","), ENC_OK.split(","), strict=True))
    values[column] = value
    return enc(",".join(values.values()))


@dataclass
class Case:
    name: str
    path: str
    content: str | bytes
    landed: int = 0
    rejects: set[tuple[int, str | None, Rule]] = field(default_factory=set)
    file_error: Rule | None = None


def value_case(column: str, value: str, rule: Rule, name: str | None = None) -> Case:
    return Case(name or f"{column}={value[:12]!r}", "encounters/f.csv", enc_with(column, value), 0, {(2, column, rule)})


CASES = [
    # -- CSV structure
    Case("valid row", "encounters/f.csv", enc(ENC_OK), 1),
    Case("utf-8 BOM", "encounters/f.csv", "\ufeff" + enc(ENC_OK), 1),
    Case("CRLF line ends", "encounters/f.csv", enc(ENC_OK).replace("\n", "\r\n"), 1),
    Case("header only", "encounters/f.csv", ENC_HEADER + "\n", 0),
    Case("empty file", "encounters/f.csv", "", file_error=Rule.FILE_EMPTY),
    Case(
        "header case and spaces",
        "encounters/f.csv",
        enc(ENC_OK, header=" Encounter_ID ," + ENC_HEADER.split(",", 1)[1].upper()),
        1,
    ),
    Case("unknown column ignored", "encounters/f.csv", enc(ENC_OK + ",x", header=ENC_HEADER + ",shoe_size"), 1),
    Case(
        "duplicate header",
        "encounters/f.csv",
        enc(ENC_OK + ",E2", header=ENC_HEADER + ",Encounter_ID"),
        file_error=Rule.HEADER_DUPLICATE,
    ),
    Case(
        "missing required column",
        "encounters/f.csv",
        "encounter_id,patient_id\nE1,P1\n",
        file_error=Rule.HEADER_MISSING_REQUIRED,
    ),
    Case("ragged row: too few", "encounters/f.csv", enc(ENC_OK, "E2,P1,D1"), 1, {(3, None, Rule.ROW_RAGGED)}),
    Case(
        "ragged row: too many",
        "encounters/f.csv",
        enc("E2,P1,D1,H1,,2025-03-01,1.00,3,extra", ENC_OK),
        1,
        {(2, None, Rule.ROW_RAGGED)},
    ),
    Case(
        "unbalanced quote",
        "encounters/f.csv",
        enc(ENC_OK, 'E2,"P1,D1,H1,,2025-03-01,1.00,3'),
        file_error=Rule.FILE_MALFORMED,
    ),
    Case(
        "quoted comma and newline",
        "diagnoses/f.csv",
        'diagnosis_code,description\n"X1","Two, lines\nof text"\nX2,ok\n',
        2,
    ),
    Case(
        "latin-1 bytes",
        "encounters/f.csv",
        enc(ENC_OK).encode() + "E2,Jos\xe9,D1,H1,,2025-03-01,1.00,3\n".encode("latin-1"),
        file_error=Rule.FILE_ENCODING,
    ),
    Case(
        "invalid utf-8 in header", "encounters/f.csv", b"encounter_id\xff,patient_id\n", file_error=Rule.FILE_ENCODING
    ),
    Case("gzip csv", "encounters/f.csv.gz", gzip.compress(enc(ENC_OK).encode()), 1),
    Case("corrupt gzip", "encounters/f.csv.gz", b"\x1f\x8b\x08not really gzip", file_error=Rule.FILE_UNREADABLE),
    # -- JSONL structure
    Case(
        "jsonl valid with numbers",
        "encounters/f.jsonl",
        '{"encounter_id":"E1","patient_id":"P1","provider_id":"D1","hospital_id":"H1","encounter_date":"2025-03-01","billing_amount":12.5,"encounter_duration":30}\n\n',
        1,
    ),
    Case(
        "jsonl invalid json",
        "encounters/f.jsonl",
        JSON_OK + '\n{"encounter_id": \n',
        1,
        {(2, None, Rule.JSON_INVALID)},
    ),
    Case(
        "jsonl not an object",
        "encounters/f.jsonl",
        '[1,2]\n{"encounter_id":"E1","patient_id":"P1","provider_id":"D1","hospital_id":"H1","encounter_date":"2025-03-01"}\n',
        1,
        {(1, None, Rule.JSON_NOT_OBJECT)},
    ),
    Case(
        "jsonl nested value",
        "encounters/f.jsonl",
        '{"encounter_id":"E1","patient_id":{"id":"P1"},"provider_id":"D1","hospital_id":"H1","encounter_date":"2025-03-01"}\n',
        0,
        {(1, "patient_id", Rule.JSON_NESTED_VALUE)},
    ),
    Case(
        "jsonl null is no value",
        "encounters/f.jsonl",
        '{"encounter_id":"E1","patient_id":null,"provider_id":"D1","hospital_id":"H1","encounter_date":"2025-03-01"}\n',
        0,
        {(1, "patient_id", Rule.REQUIRED_MISSING)},
    ),
    Case(
        "jsonl NaN literal",
        "encounters/f.jsonl",
        '{"encounter_id":"E1","patient_id":"P1","provider_id":"D1","hospital_id":"H1","encounter_date":"2025-03-01","billing_amount":NaN}\n',
        0,
        {(1, "billing_amount", Rule.MONEY_INVALID)},
    ),
    Case(
        "jsonl missing required key everywhere",
        "encounters/f.jsonl",
        '{"encounter_id":"E1"}\n',
        file_error=Rule.HEADER_MISSING_REQUIRED,
    ),
    Case(
        "jsonl latin-1",
        "encounters/f.jsonl",
        '{"encounter_id":"Jos\xe9"}\n'.encode("latin-1"),
        file_error=Rule.FILE_ENCODING,
    ),
    # -- values: every rejection kind of the contract
    value_case("encounter_id", "", Rule.REQUIRED_MISSING),
    value_case("encounter_id", "   ", Rule.REQUIRED_MISSING, "id of spaces"),
    value_case("encounter_id", "E" * 65, Rule.ID_TOO_LONG),
    value_case("diagnosis_code", "A" * 11, Rule.TEXT_TOO_LONG, "text one over its width"),
    value_case("encounter_date", "08/01/2025", Rule.DATE_INVALID),
    value_case("encounter_date", "2025-02-30", Rule.DATE_INVALID, "impossible date"),
    value_case("encounter_date", "2025-3-1", Rule.DATE_INVALID, "unpadded date"),
    value_case("billing_amount", "$12.00", Rule.MONEY_INVALID),
    value_case("billing_amount", '"1,234.00"', Rule.MONEY_INVALID, "thousands separator"),
    value_case("billing_amount", "Inf", Rule.MONEY_INVALID),
    value_case("billing_amount", "1e5", Rule.MONEY_INVALID),
    value_case("billing_amount", "12.345", Rule.MONEY_INVALID),
    value_case("billing_amount", "100000000.00", Rule.MONEY_OUT_OF_RANGE),
    value_case("billing_amount", "-100000000", Rule.MONEY_OUT_OF_RANGE),
    value_case("encounter_duration", "12.5", Rule.INT_INVALID),
    value_case("encounter_duration", "abc", Rule.INT_INVALID),
    value_case("encounter_duration", "525601", Rule.INT_OUT_OF_RANGE),
    value_case("encounter_duration", "-1", Rule.INT_OUT_OF_RANGE),
    value_case("encounter_duration", "9" * 30, Rule.INT_OUT_OF_RANGE, "int past 64 bits"),
    Case(
        "two broken rules on one row",
        "encounters/f.csv",
        enc("E1,P1,D1,H1,,2025-02-30,$1,x"),
        0,
        {
            (2, "encounter_date", Rule.DATE_INVALID),
            (2, "billing_amount", Rule.MONEY_INVALID),
            (2, "encounter_duration", Rule.INT_INVALID),
        },
    ),
    Case(
        "timestamp invalid",
        "encounters/f.csv",
        enc(ENC_OK + ",yesterday", header=ENC_HEADER + ",updated_at"),
        0,
        {(2, "updated_at", Rule.TIMESTAMP_INVALID)},
    ),
    Case(
        "timestamp with zone",
        "encounters/f.csv",
        enc(ENC_OK + ",2025-03-01T10:00:00+02:00", header=ENC_HEADER + ",updated_at"),
        1,
    ),
    Case(
        "birth date in the future",
        "patients/f.csv",
        "patient_id,date_of_birth\nP1,2999-01-01\n",
        0,
        {(2, "date_of_birth", Rule.DATE_OUT_OF_RANGE)},
    ),
    Case(
        "birth date before 1900",
        "patients/f.csv",
        "patient_id,date_of_birth\nP1,1899-12-31\n",
        0,
        {(2, "date_of_birth", Rule.DATE_OUT_OF_RANGE)},
    ),
    Case("birth date as timestamp", "patients/f.csv", "patient_id,date_of_birth\nP1,1980-05-04T00:00:00Z\n", 1),
    Case(
        "gender enum", "patients/f.csv", "patient_id,gender\nP1,X\nP2, female \n", 1, {(2, "gender", Rule.ENUM_INVALID)}
    ),
    Case(
        "bool",
        "patients/f.csv",
        "patient_id,is_active\nP1,maybe\nP2,Y\nP3,0\n",
        2,
        {(2, "is_active", Rule.BOOL_INVALID)},
    ),
    Case("state code", "hospitals/f.csv", "hospital_id,state\nH1,ZZ\nH2,ny\n", 1, {(2, "state", Rule.CODE_INVALID)}),
    Case(
        "adjudicated before submitted",
        "claims/f.csv",
        "claim_id,patient_id,provider_id,submitted_date,adjudicated_date,claim_status,billed_amount\nC1,P1,D1,2025-02-01,2025-01-01,paid,10\n",
        0,
        {(2, "adjudicated_date", Rule.DATE_ORDER)},
    ),
    Case(
        "claim status enum",
        "claims/f.csv",
        "claim_id,patient_id,provider_id,submitted_date,claim_status,billed_amount\nC1,P1,D1,2025-02-01,refunded,10\n",
        0,
        {(2, "claim_status", Rule.ENUM_INVALID)},
    ),
    Case(
        "no-show spellings are missed",
        "appointments/f.csv",
        "appointment_id,patient_id,provider_id,appointment_date,status\nA1,P1,D1,2025-01-01,No-Show\nA2,P1,D1,2025-01-01,NOSHOW\n",
        2,
    ),
    Case(
        "unicode names fit by characters",
        "patients/f.csv",
        "patient_id,first_name\nP1," + "é" * 50 + "\nP2," + "Ø" * 51 + "\n",
        1,
        {(3, "first_name", Rule.TEXT_TOO_LONG)},
    ),
    Case(
        "injection string lands as text",
        "patients/f.csv",
        'patient_id,last_name\nP1,"Robert\'); DROP TABLE raw.patients;--"\n',
        1,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input(case: Case, tmp_path, run_load, target):
    write(tmp_path / "land", case.path, case.content)
    report = run_load(tmp_path / "land", max_reject_ratio=1.0)
    (result,) = report.files
    if case.file_error:
        assert result.state == "rejected"
        assert result.error_code == case.file_error.value
        assert result.rows_landed == 0
    else:
        assert result.state == "landed", result.error_message
        assert result.rows_landed == case.landed
        got = set(target.con.execute("select line, column_name, rule_code from raw.rejected_rows").fetchall())
        assert got == {(line, col, rule.value) for line, col, rule in case.rejects}
    # every row read is landed or rejected, in the report and in the database
    assert result.rows_read == result.rows_landed + result.rows_rejected
    ledger = target.con.execute("select rows_read, rows_landed, rows_rejected from raw.load_ledger").fetchall()
    assert ledger == [(result.rows_read, result.rows_landed, result.rows_rejected)]


def test_corpus_covers_every_rule():
    covered = {r for c in CASES for _, _, r in c.rejects} | {c.file_error for c in CASES if c.file_error}
    missing = set(Rule) - covered - {Rule.REJECT_RATIO}  # the ratio has its own test
    assert not missing, missing
    assert len(CASES) >= 40


def test_injection_string_is_stored_verbatim(tmp_path, run_load, target):
    evil = "Robert'); DROP TABLE raw.patients;--"
    write(tmp_path / "land", "patients/f.csv", f'patient_id,last_name\nP1,"{evil}"\n')
    run_load(tmp_path / "land")
    assert target.con.execute("select last_name from raw.patients").fetchall() == [(evil,)]


def test_no_value_is_logged_or_reported(tmp_path, run_load, target, caplog):
    secret = "Zebediah-Secret-Name"
    write(
        tmp_path / "land",
        "patients/f.csv",
        f"patient_id,first_name,date_of_birth\nP1,{secret * 5},1980-01-01\nP2,x,08/01/1980\n",
    )
    with caplog.at_level("DEBUG"):
        report = run_load(tmp_path / "land", max_reject_ratio=1.0)
    assert secret not in caplog.text
    assert secret not in str(report.as_dict())
    rejected = target.con.execute("select * from raw.rejected_rows").fetchall()
    assert rejected and secret not in str(rejected) and "08/01/1980" not in str(rejected)


def test_ragged_rows_keep_true_line_numbers_across_batches(tmp_path, run_load, target, monkeypatch):
    import carestar.read as read

    monkeypatch.setattr(read, "CSV_BLOCK_BYTES", 4096)  # many blocks ...
    monkeypatch.setattr(read, "BATCH_ROWS", 300)  # ... handed on a few at a time
    rows = [f"E{i},P1,D1,H1,,2025-03-01,1.00,3" for i in range(2000)]
    for bad in (100, 900, 1500):
        rows[bad] = "E,short"
    write(tmp_path / "land", "encounters/f.csv", enc(*rows))
    run_load(tmp_path / "land", max_reject_ratio=1.0)
    # the row E<i> sits on line i + 2
    got = target.con.execute("select encounter_id, _source_line from raw.encounters").fetchall()
    assert len(got) == 1997
    assert all(line == int(eid[1:]) + 2 for eid, line in got)
    ragged = target.con.execute("select line from raw.rejected_rows order by line").fetchall()
    assert ragged == [(102,), (902,), (1502,)]


def test_unknown_columns_are_reported(tmp_path, run_load, target):
    write(tmp_path / "land", "encounters/f.csv", enc(ENC_OK + ",1,2", header=ENC_HEADER + ",Shoe_Size,hat"))
    report = run_load(tmp_path / "land")
    assert report.files[0].unknown_columns == ["shoe_size", "hat"]
    ledger = target.con.execute("select unknown_columns from raw.load_ledger").fetchall()
    assert ledger == [("shoe_size,hat",)]


def _read_all(stream, name: str, entity) -> tuple:
    """What read_file makes of a stream: its rows, rejects and shape, or the file error's rule."""
    from carestar.read import FileError, FileShape, read_file

    shape = FileShape()
    try:
        batches = list(read_file(stream, name, entity, shape))
    except FileError as exc:
        return ("file_error", exc.rule)
    rows = [row for b in batches for row in b.table.to_pylist()]
    rejects = [(r.line, r.column, r.rule) for b in batches for r in b.rejects]
    return rows, rejects, shape.rows_read, shape.unknown_columns, shape.bytes_read


CSV_CASES = [c for c in CASES if c.path.endswith(".csv")]


@pytest.mark.parametrize("case", CSV_CASES, ids=[c.name for c in CSV_CASES])
def test_local_and_streamed_csv_read_alike(case: Case, tmp_path, monkeypatch):
    """A local file goes to pyarrow natively; any other stream through the counting taps.
    Both ways must read every corpus case the same, across many small blocks too."""
    import io

    import carestar.read as read
    from carestar.contract import ENTITIES

    monkeypatch.setattr(read, "CSV_BLOCK_BYTES", 4096)
    path = write(tmp_path, case.path, case.content)
    entity = ENTITIES[case.path.split("/")[0]]
    with path.open("rb") as local:
        assert read._local_path(local) == str(path)  # the native path is the one taken
        native = _read_all(local, path.name, entity)
    streamed = _read_all(io.BytesIO(path.read_bytes()), path.name, entity)
    assert native == streamed
    if case.file_error:
        assert native == ("file_error", case.file_error)


JSONL_CASES = [c for c in CASES if ".jsonl" in c.path]


def _line_by_line_only(monkeypatch) -> None:
    import carestar.read as read

    monkeypatch.setattr(read, "_bulk_jsonl", lambda block, state: None)


@pytest.mark.parametrize("case", JSONL_CASES, ids=[c.name for c in JSONL_CASES])
def test_bulk_and_line_by_line_jsonl_read_alike(case: Case, tmp_path, monkeypatch):
    """A block of JSONL lines goes to pyarrow when it can; every corpus case must read as
    Python's json reads it line by line."""
    import io

    from carestar.contract import ENTITIES

    content = case.content if isinstance(case.content, bytes) else case.content.encode()
    entity = ENTITIES[case.path.split("/")[0]]
    bulk = _read_all(io.BytesIO(content), "f.jsonl", entity)
    _line_by_line_only(monkeypatch)
    assert bulk == _read_all(io.BytesIO(content), "f.jsonl", entity)
    if case.file_error:
        assert bulk == ("file_error", case.file_error)


def _mixed_jsonl(n: int) -> bytes:
    """n encounter lines, E<i> on line i + 1, with every kind of line the bulk reader hands on
    scattered among them."""
    lines = [
        f'{{"encounter_id":"E{i}","patient_id":"P{i % 7}","provider_id":"D1","hospital_id":"H1",'
        f'"encounter_date":"2025-03-01","billing_amount":"{i}.50","x_extra":"{i}"}}'
        for i in range(n)
    ]
    lines[0] = "\ufeff" + lines[0]  # a BOM
    lines[150] = lines[150].replace('"2025-03-01"', '"2025-03-01","billing_amount":null')  # key twice
    lines[400] = lines[400].replace('"D1"', "12")  # a number
    lines[700] = '{"encounter_id": '  # not JSON
    lines[701] = "   "  # blank
    lines[1000] = lines[1000].replace('"encounter_date"', '" Encounter_Date "')  # a key to normalise
    lines[1300] = lines[1300].replace('"H1"', '{"id":"H1"}')  # nested
    lines[1600] = lines[1600].replace('"x_extra":', '"x_other":')  # another unknown key
    lines[1800] = ""  # blank, among lines pyarrow would read
    return ("\n".join(lines)).encode()  # no line end after the last line


def test_jsonl_blocks_keep_true_line_numbers(tmp_path, monkeypatch):
    """Across many blocks, some read in bulk and some line by line, every row keeps its line
    and the whole file reads as line by line."""
    import io

    import carestar.read as read
    from carestar.contract import ENTITIES

    monkeypatch.setattr(read, "JSON_BLOCK_BYTES", 4096)  # ~25 lines a block
    bulk_blocks = []
    bulk = read._bulk_jsonl

    def counting(block, state):
        table = bulk(block, state)
        bulk_blocks.append(table is not None)
        return table

    monkeypatch.setattr(read, "_bulk_jsonl", counting)
    content = _mixed_jsonl(2000)
    rows, rejects, rows_read, unknown, _ = got = _read_all(io.BytesIO(content), "f.jsonl", ENTITIES["encounters"])
    assert sum(bulk_blocks) > 0.8 * len(bulk_blocks)  # most blocks went to pyarrow ...
    assert not all(bulk_blocks)  # ... and not all
    assert rows_read == 1998  # blank lines are no rows
    assert all(row["_line"] == int(row["encounter_id"][1:]) + 1 for row in rows)
    assert {(line, rule) for line, _, rule in rejects} == {
        (701, Rule.JSON_INVALID),
        (1301, Rule.JSON_NESTED_VALUE),
    }
    assert unknown == ["x_extra", "x_other"]
    by_id = {row["encounter_id"]: row for row in rows}
    assert by_id["E150"]["billing_amount"] == "150.50"  # a key given twice: the later (null came first)
    assert by_id["E400"]["provider_id"] == "12"  # a number's literal text
    assert by_id["E1000"]["encounter_date"] == "2025-03-01"
    assert by_id["E1999"]["billing_amount"] == "1999.50"
    _line_by_line_only(monkeypatch)
    assert got == _read_all(io.BytesIO(content), "f.jsonl", ENTITIES["encounters"])
