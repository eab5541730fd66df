"""Exactly-once landing: reruns, changed files, refused files, dry runs, the ledger's equality."""

from __future__ import annotations

import json
import os
import sys
import threading

import duckdb
import pytest
from conftest import land_a_stray_row, write

from carestar.cli import main
from carestar.pipeline import EXIT_FAILED, EXIT_OK, EXIT_PARTIAL

HEADER = "patient_id,first_name,date_of_birth"


def _snapshot(target) -> dict[str, list]:
    tables = ["patients", "encounters", "claims", "rejected_rows"]
    snap = {t: sorted(map(str, target.con.execute(f"select * from raw.{t}").fetchall())) for t in tables}
    snap["ledger"] = sorted(
        map(
            str,
            target.con.execute(
                "select load_id, source_uri, etag, state, rows_read, rows_landed, rows_rejected from raw.load_ledger"
            ).fetchall(),
        )
    )
    return snap


def test_loading_the_same_folder_twice_changes_nothing(sample_tree, run_load, target):
    first = run_load(sample_tree[0])
    assert first.count("landed") == len(first.files) > 10
    before = _snapshot(target)
    second = run_load(sample_tree[0])
    assert second.files == [] and second.skipped == len(first.files)
    assert _snapshot(target) == before


def test_every_ledger_row_balances_against_the_database(sample_tree, run_load, target):
    run_load(sample_tree[0])
    rows = target.con.execute(
        "select load_id, entity, rows_read, rows_landed, rows_rejected from raw.load_ledger where state = 'landed'"
    ).fetchall()
    assert rows
    for load_id, entity, read, landed, rejected in rows:
        assert read == landed + rejected
        in_raw = target.con.execute(f"select count(*) from raw.{entity} where _load_id = ?", [load_id]).fetchall()[0][0]
        lines = target.con.execute(
            "select count(distinct line) from raw.rejected_rows where load_id = ?", [load_id]
        ).fetchall()[0][0]
        assert (in_raw, lines) == (landed, rejected)
    # the generator's bad rows were rejected, not dropped
    assert sum(r[4] for r in rows) > 0


def test_a_changed_file_supersedes_its_earlier_version(tmp_path, run_load, target):
    root = tmp_path / "land"
    write(root, "patients/p.csv", f"{HEADER}\nP1,Ann,1980-01-01\nP2,Bob,1970-01-01\n")
    run_load(root)
    write(root, "patients/p.csv", f"{HEADER}\nP1,Anna,1980-01-01\n")
    report = run_load(root)
    (result,) = report.files
    assert result.state == "landed" and result.superseded is not None
    assert target.con.execute("select patient_id, first_name from raw.patients").fetchall() == [("P1", "Anna")]
    states = target.con.execute("select state, superseded_by from raw.load_ledger order by load_id").fetchall()
    assert states == [("superseded", result.load_id), ("landed", None)]


def test_a_refused_replacement_keeps_the_good_version(tmp_path, run_load, target):
    root = tmp_path / "land"
    write(root, "patients/p.csv", f"{HEADER}\nP1,Ann,1980-01-01\n")
    run_load(root)
    write(root, "patients/p.csv", "first_name\nAnn\n")  # required column gone
    (result,) = run_load(root).files
    assert result.state == "rejected" and result.error_code == "header_missing_required"
    assert target.con.execute("select count(*) from raw.patients").fetchall() == [(1,)]
    assert run_load(root).files == []  # the refused version is not retried until it changes


def test_reject_ratio_refuses_the_whole_file(tmp_path, run_load, target):
    root = tmp_path / "land"
    write(root, "patients/p.csv", f"{HEADER}\nP1,Ann,1980-01-01\nP2,Bob,08/01/1980\nP3,Cy,1980-02-30\n")
    (result,) = run_load(root, max_reject_ratio=0.5).files
    assert result.state == "rejected" and result.error_code == "reject_ratio_exceeded"
    assert (result.rows_read, result.rows_landed, result.rows_rejected) == (3, 0, 3)
    assert "date_invalid x2" in result.error_message
    assert target.con.execute("select count(*) from raw.patients").fetchall() == [(0,)]


def test_dry_run_lands_nothing(sample_tree, run_load, target):
    report = run_load(sample_tree[0], dry_run=True)
    assert report.rows[0] > 0 and report.rows[1] > 0
    for table in ("patients", "encounters", "load_ledger", "rejected_rows", "load_runs"):
        assert target.con.execute(f"select count(*) from raw.{table}").fetchall() == [(0,)]


def test_marker_and_foreign_files_are_passed_over(tmp_path, run_load):
    root = tmp_path / "land"
    write(root, "_SUCCESS", "")
    write(root, "patients/.p.csv.part", "x")
    write(root, "patients/notes.txt", "x")
    write(root, "widgets/w.csv", "a\n1\n")
    write(root, "patients/p.csv", f"{HEADER}\nP1,Ann,1980-01-01\n")
    report = run_load(root)
    assert [f.entity for f in report.files] == ["patients"]
    assert sorted(report.ignored) == ["patients/notes.txt", "widgets/w.csv"]


def test_cli_exit_codes_and_report(tmp_path, monkeypatch):
    monkeypatch.setenv("CARESTAR_DUCKDB_PATH", str(tmp_path / "w.duckdb"))
    root = tmp_path / "land"
    write(root, "patients/p.csv", f"{HEADER}\nP1,Ann,1980-01-01\n")
    assert main(["load", str(root), "--no-progress", "--report", str(tmp_path / "r.json")]) == EXIT_OK
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["rows"] == {"read": 1, "landed": 1, "rejected": 0, "per_second": report["rows"]["per_second"]}
    write(root, "patients/q.csv", f"{HEADER}\nP2,Bob,1980-02-30\nP3,Cy,1980-01-01\n")
    assert main(["load", str(root), "--no-progress", "--max-reject-ratio", "0.9"]) == EXIT_PARTIAL
    assert main(["load", str(root), "--no-progress", "--max-reject-ratio", "2"]) == 2
    assert main(["load", str(root), "--no-progress", "--jobs", "0"]) == 2
    runs = (
        __import__("duckdb")
        .connect(str(tmp_path / "w.duckdb"))
        .execute("select status, files_landed, rows_rejected from raw.load_runs order by started_at")
        .fetchall()
    )
    assert runs == [("succeeded", 1, 0), ("partial", 1, 1)]


def test_a_database_failure_fails_the_file_and_is_retried(tmp_path, run_load, target, monkeypatch):
    root = tmp_path / "land"
    write(root, "patients/p.csv", f"{HEADER}\nP1,Ann,1980-01-01\n")

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(target, "land_valid", broken)
    report = run_load(root)
    assert report.exit_code == EXIT_FAILED and report.files[0].state == "failed"
    assert target.con.execute("select count(*) from raw.patients").fetchall() == [(0,)]
    monkeypatch.undo()
    (retry,) = run_load(root).files
    assert retry.state == "landed"
    assert target.con.execute("select count(*) from raw.patients").fetchall() == [(1,)]


def test_since_until_backfills_a_date_window(tmp_path, run_load, target):
    from datetime import date

    root = tmp_path / "land"
    for day in ("2025-01-01", "2025-01-02", "2025-01-03"):
        write(root, f"patients/dt={day}/p.csv", f"{HEADER}\nP{day[-1]},Ann,1980-01-01\n")
    write(root, "patients/year=2025/month=01/day=02/q.csv", f"{HEADER}\nQ2,Bo,1980-01-01\n")
    window = run_load(root, since=date(2025, 1, 2), until=date(2025, 1, 2))
    assert sorted(f.source_uri.split("land/")[1] for f in window.files) == [
        "patients/dt=2025-01-02/p.csv",
        "patients/year=2025/month=01/day=02/q.csv",
    ]
    assert window.outside_window == 2
    rest = run_load(root)  # the rest lands later; the window's files are not loaded twice
    assert len(rest.files) == 2 and rest.skipped == 2
    assert target.fetchall("select count(*) from raw.patients") == [(4,)]


def test_database_errors_are_stored_without_quoted_values():
    from carestar.pipeline import safe_message

    error = RuntimeError("Conversion Error: Could not convert string 'Zebediah' to INT32\nLINE 1: ...")
    assert safe_message(error) == "Conversion Error: Could not convert string '…' to INT32"
    assert "Zebediah" not in safe_message(ValueError('value "Zebediah" too long'))


def test_an_older_raw_table_with_lineage_on_every_row_keeps_loading(tmp_path, run_load, target):
    # Before the ledger held each load's file and time, raw tables had them as NOT NULL columns.
    target.con.execute("create schema raw")
    target.con.execute(
        "create table raw.patients (patient_id varchar(64) not null, mrn varchar(64), first_name varchar(100),"
        " last_name varchar(100), date_of_birth date, gender varchar(1), is_active boolean, updated_at timestamp,"
        " _load_id bigint not null, _source_file varchar(1024) not null, _source_line bigint not null,"
        " _loaded_at timestamp not null)"
    )
    root = tmp_path / "land"
    write(root, "patients/p.csv", f"{HEADER}\nP1,Ann,1980-01-01\n")
    report = run_load(root)
    assert report.count("landed") == 1 and report.rows == (1, 1, 0)
    nullable = target.con.execute(
        "select column_name, is_nullable from information_schema.columns"
        " where table_schema = 'raw' and table_name = 'patients' and column_name in ('_source_file', '_loaded_at')"
        " order by column_name"
    ).fetchall()
    assert nullable == [("_loaded_at", "YES"), ("_source_file", "YES")]
    assert target.con.execute("select patient_id, _source_line from raw.patients").fetchall() == [("P1", 2)]


def test_a_file_whose_rows_in_the_table_do_not_match_the_count_lands_nothing(tmp_path, run_load, target, monkeypatch):
    land_a_stray_row(monkeypatch, target)
    root = tmp_path / "land"
    write(root, "patients/p.csv", f"{HEADER}\nP1,Ann,1980-01-01\n")
    (result,) = run_load(root).files
    assert (result.state, result.error_code) == ("failed", "CountMismatch")
    assert target.con.execute("select count(*) from raw.patients").fetchall() == [(0,)]
    assert target.con.execute("select state from raw.load_ledger").fetchall() == [("failed",)]


def _rows_when_batches_end(target, monkeypatch) -> list[int]:
    """Rows of raw.patients in the file's transaction just before each finish_batches."""
    seen: list[int] = []
    finish = type(target).finish_batches

    def spy(self, entity, load_id, uri):
        seen.append(self.con.execute("select count(*) from raw.patients").fetchall()[0][0])
        return finish(self, entity, load_id, uri)

    monkeypatch.setattr(type(target), "finish_batches", spy)
    return seen


def _patients(n: int, bad: set[int]) -> str:
    rows = [f"P{i},Ann,{'1980-13-45' if i in bad else '1980-01-01'}" for i in range(n)]
    return HEADER + "\n" + "\n".join(rows) + "\n"


def test_a_small_file_lands_in_one_insert_at_its_end(tmp_path, run_load, target, monkeypatch):
    import carestar.read as read

    monkeypatch.setattr(read, "CSV_BLOCK_BYTES", 64)  # many small batches
    monkeypatch.setattr(read, "BATCH_ROWS", 3)
    seen = _rows_when_batches_end(target, monkeypatch)
    write(tmp_path / "land", "patients/p.csv", _patients(20, bad={4, 11}))
    (result,) = run_load(tmp_path / "land", max_reject_ratio=1.0).files
    assert seen == [0]  # nothing inserted batch by batch
    assert (result.state, result.rows_read, result.rows_landed, result.rows_rejected) == ("landed", 20, 18, 2)
    got = target.con.execute("select patient_id, _source_line from raw.patients").fetchall()
    assert sorted(got) == sorted((f"P{i}", i + 2) for i in range(20) if i not in {4, 11})


def test_a_file_past_the_held_rows_streams_and_still_lands_once(tmp_path, run_load, target, monkeypatch):
    import carestar.land as land
    import carestar.read as read

    monkeypatch.setattr(read, "CSV_BLOCK_BYTES", 64)
    monkeypatch.setattr(read, "BATCH_ROWS", 3)
    monkeypatch.setattr(land, "HELD_ROWS", 5)
    seen = _rows_when_batches_end(target, monkeypatch)
    root = tmp_path / "land"
    write(root, "patients/p.csv", _patients(40, bad={0, 17, 39}))

    # a failure after rows were inserted batch by batch leaves nothing of the file
    rejects = type(target).land_value_rejects
    calls = []

    def fail_late(self, entity, load_id, uri):
        calls.append(1)
        if len(calls) == 6:
            raise RuntimeError("disk full")
        rejects(self, entity, load_id, uri)

    monkeypatch.setattr(type(target), "land_value_rejects", fail_late)
    (failed,) = run_load(root, max_reject_ratio=1.0).files
    assert failed.state == "failed"
    assert target.con.execute("select count(*) from raw.patients").fetchall() == [(0,)]

    monkeypatch.setattr(type(target), "land_value_rejects", rejects)
    (result,) = run_load(root, max_reject_ratio=1.0).files
    assert seen[-1] > 5  # the retry inserted batch by batch before the file ended
    assert (result.state, result.rows_landed, result.rows_rejected) == ("landed", 37, 3)
    got = target.con.execute("select patient_id, _source_line from raw.patients").fetchall()
    assert sorted(got) == sorted((f"P{i}", i + 2) for i in range(40) if i not in {0, 17, 39})


def test_local_files_are_tagged_by_their_content_in_load_order(tmp_path):
    """Each local file's tag is the SHA-256 of its own bytes, hashed in the background while
    files are listed in the order they load (a tag paired with the wrong file would fail)."""
    import hashlib

    from carestar.discover import discover

    contents = {f"encounters/part-{i:02d}.csv": f"encounter_id\nE{i}\n" * (i + 1) for i in (3, 0, 2, 1)}
    for relative, text in contents.items():
        write(tmp_path, relative, text)
    found = discover(str(tmp_path)).files
    assert [f.uri for f in found] == sorted(f.uri for f in found)
    for f in found:
        body = (tmp_path / "encounters" / f.name).read_bytes()
        assert f.etag == "sha256:" + hashlib.sha256(body).hexdigest()
        assert f.size == len(body)


def _hold_hashes(monkeypatch, free) -> tuple[threading.Event, list]:
    """Hash local files on two threads, holding back every file but those `free(path)` lets
    through until the returned event is set; the list receives the run's Discovery."""
    import carestar.discover as discover_module
    import carestar.pipeline as pipeline

    release = threading.Event()
    hash_file = discover_module._content_tag

    def held(path):
        if not free(path):
            release.wait(timeout=30)
        return hash_file(path)

    monkeypatch.setattr(discover_module, "_content_tag", held)
    monkeypatch.setattr(discover_module.os, "cpu_count", lambda: 2)
    found: list = []
    monkeypatch.setattr(pipeline, "discover", lambda root: found.append(discover_module.discover(root)) or found[0])
    return release, found


def test_a_run_cut_short_hashes_no_more_files(tmp_path, monkeypatch, target):
    """Files wait their turn to be hashed; when the run stops (here, its first file fails
    hard), the hashes not yet started are cancelled instead of holding the process."""
    import carestar.pipeline as pipeline

    release, found = _hold_hashes(monkeypatch, lambda path: path.name.endswith("00.csv"))

    def fail(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(pipeline, "_land_file", fail)
    for i in range(8):
        write(tmp_path / "land", f"encounters/part-{i:02d}.csv", f"encounter_id\nE{i}\n")
    try:
        with pytest.raises(RuntimeError):
            # one file at a time: a second connection would wait on the second file's held hash
            pipeline.load(str(tmp_path / "land"), target, progress=False, jobs=1)
    finally:
        release.set()
    tags = [f.tag for f in found[0].files]
    assert tags[0].result().startswith("sha256:")
    assert all(t.cancelled() for t in tags[3:])  # the first file's, then one per thread had started


def test_files_outside_the_window_are_not_hashed(tmp_path, monkeypatch, target):
    """A backfill of one day does not hash the other days' files: their hashes are
    cancelled before they start (one per hashing thread may have started already)."""
    from datetime import date

    import carestar.pipeline as pipeline

    release, found = _hold_hashes(monkeypatch, lambda path: "2025-01-01" in str(path))
    for day in range(1, 7):
        write(tmp_path / "land", f"patients/dt=2025-01-0{day}/part.csv", f"{HEADER}\nP{day},Ann,1980-01-01\n")
    try:
        report = pipeline.load(
            str(tmp_path / "land"), target, progress=False, since=date(2025, 1, 1), until=date(2025, 1, 1)
        )
    finally:
        release.set()
    assert report.outside_window == 5 and [f.state for f in report.files] == ["landed"]
    tags = [f.tag for f in found[0].files]
    assert all(t.cancelled() for t in tags[3:])  # day one's, then one per thread had started


def test_duckdb_lands_two_files_at_once_as_it_lands_one(sample_tree, tmp_path, monkeypatch):
    """jobs=2 on DuckDB: a second connection to the same file lands files beside the first,
    each in its own transaction. Every raw row, rejected row and ledger row (load ids
    included: claims are handed out in file order) is the same as one file at a time."""
    import carestar.pipeline as pipeline
    from carestar.land import DuckDBTarget

    land_file = pipeline._land_file
    landers: set[str] = set()
    given_back: list[int] = []  # jobs, each time a connection gave the cores back before closing
    # (jobs, DuckDB's thread count as a file's landing starts, whether a connection had already
    # given the cores back then). The count is read first: a give-back is recorded before it
    # resets the count, so a reset count always comes with the give-back recorded.
    threads_seen: set[tuple[int, int, bool]] = set()

    def spy_land(target, *args):
        landers.add(threading.current_thread().name)
        threads = target.fetchall("select current_setting('threads')")[0][0]
        threads_seen.add((jobs, threads, bool(given_back)))
        land_file(target, *args)

    monkeypatch.setattr(pipeline, "_land_file", spy_land)
    no_more_files = DuckDBTarget.no_more_files

    def spy_no_more_files(target):
        # counted when the landing loop calls it (not when a connection closes)
        if target._restores_threads and sys._getframe(1).f_code.co_name == "work":
            given_back.append(jobs)
        no_more_files(target)

    monkeypatch.setattr(DuckDBTarget, "no_more_files", spy_no_more_files)
    contents = {}
    default_threads = duckdb.connect().execute("select current_setting('threads')").fetchall()[0][0]
    assert default_threads > 1 or os.cpu_count() == 1
    for jobs in (1, 2):
        landers.clear()
        target = DuckDBTarget(str(tmp_path / f"jobs{jobs}.duckdb"))
        try:
            report = pipeline.load(str(sample_tree[0]), target, progress=False, jobs=jobs)
            assert [f.load_id for f in report.files] == sorted(f.load_id for f in report.files)
            contents[jobs] = {
                table: target.fetchall(f"select * exclude ({time_columns}) from raw.{table} order by all")
                for table, time_columns in [
                    ("encounters", "_load_id"),  # replaced by the file's uri below
                    ("rejected_rows", "load_id"),
                    ("load_ledger", "run_id, started_at, finished_at"),
                ]
            }
            contents[jobs]["lineage"] = target.fetchall(
                "select l.source_uri, e._source_line, e._load_id from raw.encounters as e"
                " join raw.load_ledger as l on l.load_id = e._load_id order by all"
            )
            # after the run, every core is the database's again
            assert target.fetchall("select current_setting('threads')")[0][0] == default_threads
        finally:
            target.close()
        assert len(landers) == jobs  # the caller's thread, and one more with jobs=2
    assert contents[2]["load_ledger"] and contents[2]["encounters"]
    assert contents[1] == contents[2]
    # alone, on every core; side by side, each file's insert runs on one thread (no partly
    # filled row group per thread for closing to merge), except a last file that starts after
    # the other connection found no file left and gave the cores back
    assert {threads for j, threads, _ in threads_seen if j == 1} == {default_threads}
    side_by_side = {(threads, after) for j, threads, after in threads_seen if j == 2}
    assert (1, False) in side_by_side
    assert side_by_side <= {(1, False), (1, True), (default_threads, True)}
    # a connection that found no file left gave the cores back to the last file (each of the
    # two may: the second time changes nothing); with one connection there was nothing to give
    assert given_back in ([2], [2, 2])
