"""One loader run: discover -> (per file) read -> validate -> land -> ledger.

Each file version commits atomically: its valid rows, its rejected-row
records and its ledger row land in one transaction, or none of them do. A
file version already in the ledger as landed or rejected is skipped, so a
rerun after a crash lands each row exactly once.
"""

from __future__ import annotations

import logging
import queue
import re
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from tqdm import tqdm

from carestar import DEFAULT_JOBS
from carestar.contract import ENTITIES, Entity, Rule
from carestar.discover import SourceFile, discover, in_window
from carestar.land import Target
from carestar.ledger import FileResult
from carestar.read import Batch, FileError, FileShape, read_file

log = logging.getLogger("carestar.load")

DEFAULT_MAX_REJECT_RATIO = 0.25

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_PARTIAL = 3


class CountMismatch(Exception):
    """The database does not hold what was counted: the file lands nothing."""


@dataclass
class RunReport:
    run_id: str
    source: str
    target: str
    started_at: datetime
    finished_at: datetime | None = None
    files: list[FileResult] = field(default_factory=list)
    skipped: int = 0
    outside_window: int = 0
    ignored: list[str] = field(default_factory=list)
    dry_run: bool = False

    def count(self, state: str) -> int:
        return sum(1 for f in self.files if f.state == state)

    @property
    def rows(self) -> tuple[int, int, int]:
        return (
            sum(f.rows_read for f in self.files),
            sum(f.rows_landed for f in self.files),
            sum(f.rows_rejected for f in self.files),
        )

    @property
    def exit_code(self) -> int:
        if self.count("failed"):
            return EXIT_FAILED
        if self.count("rejected") or any(f.rows_rejected for f in self.files):
            return EXIT_PARTIAL
        return EXIT_OK

    @property
    def status(self) -> str:
        return {EXIT_OK: "succeeded", EXIT_PARTIAL: "partial", EXIT_FAILED: "failed"}[self.exit_code]

    def rule_counts(self) -> dict[str, int]:
        total: Counter[str] = Counter()
        for f in self.files:
            total.update(f.rule_counts)
            if f.error_code:
                total[f.error_code] += 1
        return dict(total)

    def as_dict(self) -> dict:
        read, landed, rejected = self.rows
        seconds = ((self.finished_at or self.started_at) - self.started_at).total_seconds()
        return {
            "run_id": self.run_id,
            "source": self.source,
            "target": self.target,
            "dry_run": self.dry_run,
            "status": self.status,
            "exit_code": self.exit_code,
            "started_at": self.started_at.isoformat(),
            "finished_at": (self.finished_at or self.started_at).isoformat(),
            "seconds": round(seconds, 3),
            "files": {
                "seen": len(self.files) + self.skipped + self.outside_window,
                "skipped_already_loaded": self.skipped,
                "outside_window": self.outside_window,
                "landed": self.count("landed"),
                "rejected": self.count("rejected"),
                "failed": self.count("failed"),
                "ignored": len(self.ignored),
            },
            "rows": {
                "read": read,
                "landed": landed,
                "rejected": rejected,
                "per_second": round(read / seconds, 1) if seconds else None,
            },
            "rules": self.rule_counts(),
            "per_file": [
                {
                    "load_id": f.load_id,
                    "uri": f.source_uri,
                    "entity": f.entity,
                    "state": f.state,
                    "rows_read": f.rows_read,
                    "rows_landed": f.rows_landed,
                    "rows_rejected": f.rows_rejected,
                    "rules": f.rule_counts,
                    "unknown_columns": f.unknown_columns,
                    "error_code": f.error_code,
                    "error": f.error_message,
                    "superseded_load_id": f.superseded,
                    "seconds": round(f.seconds, 3),
                    "rows_per_second": round(f.rows_read / f.seconds, 1),
                }
                for f in self.files
            ],
        }


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def load(
    source: str,
    target: Target,
    *,
    max_reject_ratio: float = DEFAULT_MAX_REJECT_RATIO,
    dry_run: bool = False,
    progress: bool | None = None,
    since: date | None = None,
    until: date | None = None,
    jobs: int = DEFAULT_JOBS,
) -> RunReport:
    """Land every new file version under `source` into `target`.

    `since`/`until` narrow the run to files whose partition date (or, without
    one, object time) is in that window: a backfill. Files outside it stay
    unloaded for a later run; files already in the ledger are skipped as always.
    `jobs`: files landed at once where the target can open more connections
    (DuckDB, PostgreSQL); each still commits alone.
    """
    if jobs < 1:
        raise ValueError("jobs must be 1 or more")
    report = RunReport(str(uuid.uuid4()), source, target.name, _now(), dry_run=dry_run)
    target.ensure_schema()
    if not dry_run:
        target.release_stale_claims()
    found = discover(source)
    report.ignored = found.ignored
    for path in found.ignored:
        log.warning("ignored %s: not <entity>/.../<file>.csv|.jsonl[.gz] of a known entity", path)
    handled, landed = target.versions()
    todo: list[SourceFile] = []
    for f in found.files:
        if in_window(f, since, until):
            todo.append(f)
        else:
            report.outside_window += 1
            _stop_hashing(f)
    if not dry_run:
        _write_run(target, report)
    total_bytes = sum(f.size for f in todo)
    disable = None if progress is None else not progress  # None: a bar only on a terminal
    with tqdm(total=total_bytes, unit="B", unit_scale=True, desc="loading", disable=disable) as bar:
        try:
            _load_files(target, report, todo, handled, landed, bar, max_reject_ratio, dry_run, jobs)
        finally:
            for f in todo:  # a run cut short hashes no more files
                _stop_hashing(f)
    report.finished_at = _now()
    if not dry_run:
        _write_run(target, report)
    return report


def _stop_hashing(f: SourceFile) -> None:
    """This run needs no tag of `f` (any more): cancel its hash if it has not started."""
    if isinstance(f.tag, Future):
        f.tag.cancel()


class _FileQueue:
    """The run's files, handed out one at a time to the workers that land them.

    Handing out, the ledger check and the claim happen under one lock, so load ids follow
    the files' order whichever worker gets a file; results are recorded under it too.
    """

    def __init__(
        self,
        report: RunReport,
        todo: list[SourceFile],
        handled: set[tuple[str, str, int]],
        bar: tqdm,
        dry_run: bool,
    ) -> None:
        self.report, self.handled, self.bar, self.dry_run = report, handled, bar, dry_run
        self._pending = iter(todo)
        self._lock = threading.Lock()
        self.stopped = False  # a worker hit an unexpected error: hand out nothing more

    def claim_next(self, target: Target) -> tuple[SourceFile, FileResult] | None:
        """The next file to land and its claimed ledger row; None when no file is left."""
        with self._lock:
            for f in self._pending:
                if self.stopped:
                    return None
                # A local file's tag is hashed in the background: this waits for this file's only.
                if (f.uri, f.etag, f.size) in self.handled:
                    self._skip(f)
                    continue
                result = _claim_file(target, self.report.run_id, f, self.dry_run)
                if result is None:  # another loader holds or has landed this version
                    self._skip(f)
                    continue
                return f, result
            return None

    def _skip(self, f: SourceFile) -> None:
        self.report.skipped += 1
        self.bar.update(f.size)

    def record(self, f: SourceFile, result: FileResult) -> None:
        with self._lock:
            self.report.files.append(result)
            self.bar.update(f.size)
            self.bar.set_postfix(files=len(self.report.files), rows=self.report.rows[0])
        log.info(
            "%s %s: read %d, landed %d, rejected %d%s",
            result.state,
            f.uri,
            result.rows_read,
            result.rows_landed,
            result.rows_rejected,
            f" ({result.error_code})" if result.error_code else "",
        )


def _load_files(
    target: Target,
    report: RunReport,
    todo: list[SourceFile],
    handled: set[tuple[str, str, int]],
    landed: dict[str, int],
    bar: tqdm,
    max_reject_ratio: float,
    dry_run: bool,
    jobs: int = 1,
) -> None:
    """Land each file of `todo`; versions in `handled` are skipped.

    With `jobs` above 1, a target that can open another connection (Target.another) lands
    that many files at once, each in its own transaction on its own connection; each file
    still commits alone, as with one. Others land one file at a time.
    """
    files = _FileQueue(report, todo, handled, bar, dry_run)

    def work(worker: Target) -> None:
        try:
            while (picked := files.claim_next(worker)) is not None:
                f, result = picked
                _land_file(worker, f, result, landed.get(f.uri), max_reject_ratio, dry_run)
                files.record(f, result)
            worker.no_more_files()
        except BaseException:
            files.stopped = True
            raise

    extra: list[Target] = []
    threads: list[threading.Thread] = []
    errors: list[BaseException] = []

    def run_extra(worker: Target) -> None:
        try:
            work(worker)
        except BaseException as exc:  # raised in the caller's thread after the join
            errors.append(exc)

    try:
        while len(extra) + 1 < min(jobs, len(todo)):
            try:
                another = target.another()
            except Exception as exc:  # e.g. the server's connection limit: land with fewer
                log.warning(
                    "landing %d file(s) at a time: another connection failed (%s)", len(extra) + 1, type(exc).__name__
                )
                break
            if another is None:
                break
            extra.append(another)
        for worker in extra:
            threads.append(threading.Thread(target=run_extra, args=(worker,), name="carestar-file", daemon=True))
            threads[-1].start()
        work(target)
    finally:
        for thread in threads:
            thread.join()
        for worker in extra:
            worker.close()
    if errors:
        raise errors[0]
    report.files.sort(key=lambda result: result.load_id)  # file order, whichever finished first


def _write_run(target: Target, report: RunReport) -> None:
    read, landed, rejected = report.rows
    target.write_run(
        {
            "run_id": report.run_id,
            "source": report.source[:1024],
            "target": report.target,
            "status": "running" if report.finished_at is None else report.status,
            "files_seen": len(report.files) + report.skipped,
            "files_skipped": report.skipped,
            "files_landed": report.count("landed"),
            "files_rejected": report.count("rejected"),
            "files_failed": report.count("failed"),
            "rows_read": read,
            "rows_landed": landed,
            "rows_rejected": rejected,
            "started_at": report.started_at,
            "finished_at": report.finished_at,
        }
    )


def _claim_file(target: Target, run_id: str, f: SourceFile, dry_run: bool) -> FileResult | None:
    """A load id and a claimed ledger row for one file version; None when another loader has it."""
    started = _now()
    load_id = target.next_load_id()
    result = FileResult(load_id, run_id, f.entity, f.uri, f.etag, f.size, "claimed", started, started)
    if not dry_run and not target.claim(result):
        log.info("skipped %s: claimed by another loader", f.uri)
        return None
    return result  # its load_id: a target may assign it while claiming


def _land_file(
    target: Target,
    f: SourceFile,
    result: FileResult,
    previous_load_id: int | None,
    max_reject_ratio: float,
    dry_run: bool,
) -> None:
    """Land one claimed file version and settle its ledger row (`result`): landed, rejected or failed."""
    entity = ENTITIES[f.entity]
    started = result.started_at
    load_id = result.load_id
    target.begin()
    result.state = "landed"
    shape = FileShape()
    valid_total = 0
    t0 = time.perf_counter()
    try:
        target.start_file(entity, load_id)
        with f.open() as stream:
            batches = read_file(stream, f.name, entity, shape)
            if target.reads_ahead:  # reading gets a thread of its own, ahead of validation
                batches = read_ahead(batches)
            for batch in read_ahead(_validated_ahead(target, entity, batches)):
                valid = target.validate(entity, batch.table, batch.validated)
                valid_total += valid
                target.land_valid(entity, load_id)
                target.land_value_rejects(entity, load_id, f.uri)
                target.land_row_rejects(entity, load_id, f.uri, batch.rejects)
        valid_total += target.finish_batches(entity, load_id, f.uri)
        result.rows_read = shape.rows_read
        result.unknown_columns = shape.unknown_columns
        landed, rejected, rules = target.counts_in_database(entity, load_id)
        result.rows_landed, result.rows_rejected, result.rule_counts = landed, rejected, rules
        if landed != valid_total or landed + rejected != shape.rows_read:
            raise CountMismatch(
                f"read {shape.rows_read}, counted valid {valid_total}, database has landed {landed}"
                f" and rejected {rejected}"
            )
        if shape.rows_read and rejected / shape.rows_read > max_reject_ratio:
            top = ", ".join(f"{k} x{v}" for k, v in sorted(rules.items(), key=lambda kv: -kv[1])[:5])
            raise FileError(
                Rule.REJECT_RATIO,
                f"{rejected} of {shape.rows_read} rows rejected, above {max_reject_ratio:.0%} ({top})",
            )
        if dry_run:
            target.rollback()
            result.finished_at = _now()
            return
        if previous_load_id is not None:
            target.supersede(entity, previous_load_id, load_id)
            result.superseded = previous_load_id
        result.finished_at = _now()
        target.finish_ledger(result)
        target.commit()
    except FileError as exc:
        target.rollback()
        result.state = "rejected"
        result.error_code, result.error_message = exc.rule.value, exc.detail
        _account_whole_file(result, shape)
        _record_outcome(target, result, dry_run)
        log.error("rejected %s: %s", f.uri, exc)
    except Exception as exc:  # storage, database, count mismatch: retried next run
        target.rollback()
        result.state = "failed"
        result.error_code = type(exc).__name__
        result.error_message = safe_message(exc)
        _account_whole_file(result, shape)
        _record_outcome(target, result, dry_run)
        log.error("failed %s: %s", f.uri, result.error_code)
    result.finished_at = result.finished_at if result.finished_at > started else _now()
    log.debug("%s took %.3fs", f.uri, time.perf_counter() - t0)


_QUOTED = re.compile(r"""'[^']*'|"[^"]*"|`[^`]*`""")


def safe_message(exc: BaseException) -> str:
    """An error's first line with every quoted part blanked: database errors may quote a value (PHI)."""
    first = (str(exc).splitlines() or [""])[0]
    return _QUOTED.sub("'…'", first)[:300] or type(exc).__name__


def _validated_ahead(target: Target, entity: Entity, batches: Iterator[Batch]) -> Iterator[Batch]:
    """Validate each batch as it is read (in read_ahead's thread) where the target allows it."""
    for batch in batches:
        if target.validates_concurrently:
            batch.validated = target.validate_detached(entity, batch.table)
        yield batch


def read_ahead(batches: Iterator[Batch], depth: int = 1) -> Iterator[Batch]:
    """Read the next batch in a thread while the current one is validated and landed.

    pyarrow's parser and DuckDB both release the GIL, so the two overlap on
    two cores. Exceptions (FileError included) are raised in the caller.
    """
    slots: queue.Queue = queue.Queue(maxsize=depth)
    done = object()
    stop = threading.Event()

    def produce() -> None:
        try:
            for batch in batches:
                if stop.is_set():
                    return
                slots.put(batch)
            slots.put(done)
        except BaseException as exc:  # handed to the consumer
            slots.put(exc)

    worker = threading.Thread(target=produce, name="carestar-read", daemon=True)
    worker.start()
    try:
        while (item := slots.get()) is not done:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while worker.is_alive():  # unblock a producer waiting on a full queue
            try:
                slots.get_nowait()
            except queue.Empty:
                worker.join(timeout=0.05)


def _account_whole_file(result: FileResult, shape: FileShape) -> None:
    """A refused file lands nothing: every row it had is counted as rejected."""
    result.rows_read = shape.rows_read
    result.rows_landed = 0
    result.rows_rejected = shape.rows_read
    result.unknown_columns = shape.unknown_columns


def _record_outcome(target: Target, result: FileResult, dry_run: bool) -> None:
    """Ledger row of a refused or failed version. An earlier landed version
    of the same uri stays landed: a bad replacement never removes good rows."""
    result.finished_at = _now()
    if dry_run:
        return
    target.begin()
    target.finish_ledger(result)
    target.commit()
