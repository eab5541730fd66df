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
) -> RunReport:
    """Land every new file version under `source` into `target`.

    `since`/`until` narrow the run to files whose partition date (or, without
    one, object time) is in that window: a backfill. Files outside it stay
    unloaded for a later run; files already in the ledger are skipped as always.
    """
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
            _load_files(target, report, todo, handled, landed, bar, max_reject_ratio, dry_run)
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


def _load_files(
    target: Target,
    report: RunReport,
    todo: list[SourceFile],
    handled: set[tuple[str, str, int]],
    landed: dict[str, int],
    bar: tqdm,
    max_reject_ratio: float,
    dry_run: bool,
) -> None:
    """Land each file of `todo` in turn; versions in `handled` are skipped."""
    for f in todo:
        # A local file's tag is hashed in the background: this waits for this file's only.
        if (f.uri, f.etag, f.size) in handled:
            report.skipped += 1
            bar.update(f.size)
            continue
        result = _load_file(target, report.run_id, f, landed.get(f.uri), max_reject_ratio, dry_run)
        if result is None:  # another loader holds or has landed this version
            report.skipped += 1
            bar.update(f.size)
            continue
        report.files.append(result)
        bar.update(f.size)
        bar.set_postfix(files=len(report.files), rows=report.rows[0])
        log.info(
            "%s %s: read %d, landed %d, rejected %d%s",
            result.state,
            f.uri,
            result.rows_read,
            result.rows_landed,
            result.rows_rejected,
            f" ({result.error_code})" if result.error_code else "",
        )


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


def _load_file(
    target: Target,
    run_id: str,
    f: SourceFile,
    previous_load_id: int | None,
    max_reject_ratio: float,
    dry_run: bool,
) -> FileResult | None:
    """Land one file version; None when another loader has claimed or landed it."""
    entity = ENTITIES[f.entity]
    started = _now()
    load_id = target.next_load_id()
    result = FileResult(load_id, run_id, f.entity, f.uri, f.etag, f.size, "claimed", started, started)
    if not dry_run and not target.claim(result):
        log.info("skipped %s: claimed by another loader", f.uri)
        return None
    load_id = result.load_id  # a target may assign it while claiming
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
            return result
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
    return result


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
