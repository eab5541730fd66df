"""The loader on PostgreSQL (a throwaway cluster): bulk COPY, the same ledger, the same rows as DuckDB."""

from __future__ import annotations

from conftest import land_a_stray_row, write

from carestar.pipeline import load

HEADER = "patient_id,first_name,date_of_birth,updated_at"


def test_postgres_lands_the_same_rows_as_duckdb(sample_tree, pg_target, target):
    pg = load(str(sample_tree[0]), pg_target, progress=False)
    duck = load(str(sample_tree[0]), target, progress=False)
    assert pg.rows == duck.rows and pg.rows[2] > 0
    assert pg.rule_counts() == duck.rule_counts()
    for table in ("patients", "providers", "hospitals", "diagnoses", "encounters", "claims", "appointments"):
        sql = (
            f"select r.* from raw.{table} as r join raw.load_ledger as l on l.load_id = r._load_id"
            " order by l.source_uri, r._source_line"
        )
        pg_rows = [(*r[:-2], r[-1]) for r in pg_target.fetchall(sql)]  # values and line; not load ids
        duck_rows = [(*r[:-2], r[-1]) for r in target.fetchall(sql)]
        assert pg_rows == duck_rows, table


def test_postgres_lands_two_files_at_a_time_in_file_order(sample_tree, pg_target, monkeypatch):
    """With jobs=2 a second connection lands files beside the first. Load ids still follow
    the files' order (claims are handed out in turn), the report lists files in that order,
    and the second connection is closed at the end."""
    import threading

    import carestar.pipeline as pipeline
    from carestar.land import PostgresTarget
    from carestar.ledger import FileResult

    opened: list[PostgresTarget] = []
    closed: list[PostgresTarget] = []
    landers: dict[str, set[int]] = {}
    another, close, land_file = PostgresTarget.another, PostgresTarget.close, pipeline._land_file

    def spy_another(self):
        opened.append(another(self))
        return opened[-1]

    def spy_close(self):
        closed.append(self)
        close(self)

    def spy_land(target, f, result: FileResult, *args):
        landers.setdefault(threading.current_thread().name, set()).add(id(target))
        land_file(target, f, result, *args)

    monkeypatch.setattr(PostgresTarget, "another", spy_another)
    monkeypatch.setattr(PostgresTarget, "close", spy_close)
    monkeypatch.setattr(pipeline, "_land_file", spy_land)
    report = load(str(sample_tree[0]), pg_target, progress=False, jobs=2)

    assert len(opened) == 1 and closed == opened  # one more connection, closed after
    assert len(landers) == 2 and all(len(targets) == 1 for targets in landers.values())  # one each
    ledger = pg_target.fetchall("select source_uri, load_id, state from raw.load_ledger order by load_id")
    assert [uri for uri, _, _ in ledger] == sorted(uri for uri, _, _ in ledger)  # ids in file order
    assert {state for _, _, state in ledger} == {"landed"}
    assert [f.load_id for f in report.files] == [load_id for _, load_id, _ in ledger]
    (read, landed, rejected) = pg_target.fetchall(
        "select sum(rows_read), sum(rows_landed), sum(rows_rejected) from raw.load_ledger"
    )[0]
    assert read == landed + rejected == report.rows[0]


def test_postgres_a_file_worker_that_breaks_stops_the_run(sample_tree, pg_target, monkeypatch):
    """An unexpected error in the second connection's thread reaches the caller, and no
    file is handed out after it."""
    import threading

    import pytest

    import carestar.pipeline as pipeline

    land_file = pipeline._land_file
    handed: list[str] = []

    def break_second(target, f, *args):
        handed.append(f.uri)
        if threading.current_thread().name == "carestar-file":
            raise RuntimeError("the second connection went away")
        land_file(target, f, *args)

    monkeypatch.setattr(pipeline, "_land_file", break_second)
    with pytest.raises(RuntimeError, match="second connection"):
        load(str(sample_tree[0]), pg_target, progress=False, jobs=2)
    landed = pg_target.fetchall("select count(*) from raw.load_ledger where state = 'landed'")[0][0]
    files = len(list(sample_tree[0].rglob("*.csv"))) + len(list(sample_tree[0].rglob("*.jsonl")))
    # the first connection finishes the file it holds, then takes no other
    assert landed + 1 == len(handed) < files


def test_postgres_lands_one_file_at_a_time_when_no_second_connection_opens(sample_tree, pg_target, monkeypatch):
    """A second connection refused (the server's connection limit, say) is no failure: the
    run lands every file on the first one."""
    import psycopg

    from carestar.land import PostgresTarget

    def refused(self):
        raise psycopg.OperationalError("too many clients already")

    monkeypatch.setattr(PostgresTarget, "another", refused)
    report = load(str(sample_tree[0]), pg_target, progress=False, jobs=2)
    assert report.files and {f.state for f in report.files} == {"landed"}
    assert report.exit_code in (0, 3)


def test_postgres_is_exactly_once(sample_tree, pg_target):
    first = load(str(sample_tree[0]), pg_target, progress=False)
    second = load(str(sample_tree[0]), pg_target, progress=False)
    assert second.files == [] and second.skipped == len(first.files)
    (read, landed, rejected) = pg_target.fetchall(
        "select sum(rows_read), sum(rows_landed), sum(rows_rejected) from raw.load_ledger"
    )[0]
    assert read == landed + rejected == first.rows[0]


def test_postgres_supersedes_and_stores_text_verbatim(tmp_path, pg_target):
    root = tmp_path / "land"
    evil = 'R\'); DROP TABLE raw.patients;--,"q"\nline2'
    body = evil.replace('"', '""')
    write(root, "patients/p.csv", f'{HEADER}\nP1,"{body}",1980-01-01,2025-01-01T00:00:00+02:00\nP2,Bob,1970-01-01,\n')
    load(str(root), pg_target, progress=False)
    write(root, "patients/p.csv", f'{HEADER}\nP1,"{body}",1980-01-01,\n')
    (result,) = load(str(root), pg_target, progress=False).files
    assert result.superseded is not None
    rows = pg_target.fetchall("select patient_id, first_name, updated_at from raw.patients")
    assert rows == [("P1", evil, None)]


def test_postgres_timestamps_are_utc(tmp_path, pg_target):
    root = tmp_path / "land"
    write(root, "patients/p.csv", f"{HEADER}\nP1,Ann,1980-01-01,2025-01-01T10:00:00+02:00\n")
    load(str(root), pg_target, progress=False)
    (ts,) = pg_target.fetchall("select cast(updated_at as varchar) from raw.patients")[0]
    assert ts == "2025-01-01 08:00:00"


def test_postgres_finds_a_loads_rows_by_a_block_range_index_and_relaxes_older_lineage(tmp_path, pg_target):
    pg_target.ensure_schema()
    # an older raw table (file and load time on every row, NOT NULL) keeps loading
    pg_target.execute("alter table raw.patients add column _source_file varchar(1024) not null")
    pg_target.execute("alter table raw.patients add column _loaded_at timestamp not null")
    pg_target.commit()
    root = tmp_path / "land"
    write(root, "patients/p.csv", f"{HEADER}\nP1,Ann,1980-01-01,\n")
    report = load(str(root), pg_target, progress=False)
    assert report.count("landed") == 1 and report.rows == (1, 1, 0)
    assert pg_target.fetchall("select patient_id, _source_file from raw.patients") == [("P1", None)]
    indexes = dict(
        pg_target.fetchall(
            "select indexname, indexdef from pg_indexes where schemaname = 'raw' and tablename = 'claims'"
        )
    )
    assert "using brin (_load_id)" in indexes["claims_load_id"].lower()


def test_postgres_fails_a_file_whose_rows_in_the_table_do_not_match_the_count(tmp_path, pg_target, monkeypatch):
    # a stray row inserted inside the file's transaction: the server's count differs from what was validated
    land_a_stray_row(monkeypatch, pg_target)
    root = tmp_path / "land"
    write(root, "patients/p.csv", f"{HEADER}\nP1,Ann,1980-01-01,\nP2,Bob,1970-01-01,\n")
    report = load(str(root), pg_target, progress=False)
    (result,) = report.files
    assert (result.state, result.error_code) == ("failed", "CountMismatch")
    assert pg_target.fetchall("select count(*) from raw.patients") == [(0,)]


def test_a_loader_starting_beside_one_that_is_copying_takes_no_table_lock(pg_target):
    """A second loader's start must not wait on a table the first is copying into: CREATE INDEX
    locks its table even when the index exists, and two loaders deadlocked that way."""
    import psycopg

    from carestar.land import PostgresTarget

    pg_target.ensure_schema()
    with psycopg.connect("") as copying:  # the first loader, in the middle of a file
        copying.execute("lock table raw.encounters, raw.load_ledger in row exclusive mode")
        second = PostgresTarget()
        try:
            second.execute("set lock_timeout = '3s'")
            second.ensure_schema()  # before: waited for SHARE on raw.encounters, then timed out
        finally:
            second.close()
