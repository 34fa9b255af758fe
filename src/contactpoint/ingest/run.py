"""Taking in a feed: ``contactpoint ingest SOURCE FILE`` and ``POST /api/v1/feeds/{source}`` both call ``ingest``.

    read (format) -> validate (refuse rows and fields, with line and reason) -> batches through the pipeline
    └──────────────────────── prepare.chunks ───────────────────────┘

Guarantees (DESIGN.md section 5):
- the same file again (same SHA-256) changes nothing: the run is found complete and returned as it was;
- each batch of rows commits in one transaction together with the run's ``rows_done``: a run killed part-way
  (kill -9) leaves only whole batches, and running the same file again resumes at the first row not committed;
- a row whose content is unchanged since the source last sent it is skipped;
- a ``full`` feed is everything the source holds: its records missing from the feed stop counting in the best
  view (they are kept, inactive, for the audit of what the source once said);
- a row repeating an earlier row's record ID in the same file is refused (the first is taken);
- a run's memory does not grow with the file: a file on disk is read as a stream (by the reader process, when
  there is one), and the record keys taken so far, which a repeat and a full feed's retirements are told by, are
  kept in the database with each batch (``feeds.models.RunKey``), not in a set of millions;
- a file that cannot be read at all is refused whole, with nothing taken.
"""

from __future__ import annotations

import fcntl
import hashlib
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import DatabaseError, connection, transaction
from django.db.models import Exists, OuterRef

from contactpoint import bulk
from contactpoint.access.models import SourceSystem
from contactpoint.access.sources import source_actor
from contactpoint.audit.actions import AuditAction, Outcome
from contactpoint.audit.trail import record_event
from contactpoint.children.models import SourceRecord
from contactpoint.config import get_settings
from contactpoint.errors import FeedBusy, FeedRejected
from contactpoint.feeds.models import FeedRun, RowProblem, RunKey
from contactpoint.feeds.rows import InvalidValue, Problem, Refusal, taken_without
from contactpoint.ingest import processes
from contactpoint.ingest.batch import Batch, BatchResult, child_rows, origin_of
from contactpoint.ingest.prepare import REPEATED, Chunk, Entry, FeedData, chunks, sha256_of, size_of
from contactpoint.ingest.work import IndexKeys
from contactpoint.matching.engine import Backend
from contactpoint.vault.keyring import KeyRing

BATCH_SIZE = 10000


@dataclass(frozen=True)
class IngestOutcome:
    run: FeedRun
    already_done: bool


def _kind(problem: Problem) -> str:
    return "row" if isinstance(problem, Refusal) else "value" if isinstance(problem, InvalidValue) else "field"


def _row_problems(run: FeedRun, problems: list[Problem]) -> list[RowProblem]:
    return [RowProblem(run=run, line=p.line, field=p.field[:100], reason=p.reason[:300], kind=_kind(p))
            for p in problems]


def ingest(source: SourceSystem, data: FeedData, *, fmt: str, mode: str = "delta", keyring: KeyRing, now: datetime,
           engine: Backend | None = None, batch_size: int = BATCH_SIZE,
           progress: Callable[[int], None] | None = None) -> IngestOutcome:
    if mode not in ("delta", "full"):
        raise FeedRejected("mode is 'delta' (changes only) or 'full' (everything the source holds)")
    if not source.active:
        raise FeedRejected("this source system is not active")
    sha = sha256_of(data)
    run = FeedRun.objects.filter(source=source, sha256=sha).first()
    if run is not None and run.status != FeedRun.Status.RUNNING:
        record_event(AuditAction.FEED_RECEIVED, actor=source_actor(source), keyring=keyring, at=now,
                     context={"run": run.id, "sha256": sha, "repeat_of_finished_run": True})
        return IngestOutcome(run, already_done=True)
    if run is None:
        with transaction.atomic():
            run = FeedRun.objects.create(id=uuid.uuid4().hex, source=source, sha256=sha, format=fmt, mode=mode,
                                         received_at=now)
            record_event(AuditAction.FEED_RECEIVED, actor=source_actor(source), keyring=keyring, at=now,
                         context={"run": run.id, "sha256": sha, "format": fmt, "mode": mode})
    try:
        with only_runner(f"feed:{run.id}"), processes.fewer_collections():
            run.refresh_from_db()  # where another runner, gone now, left it
            if run.status != FeedRun.Status.RUNNING:
                return IngestOutcome(run, already_done=True)
            _run(run, source, data, fmt=fmt, keyring=keyring, now=now, engine=engine, batch_size=batch_size,
                 progress=progress)
    except FeedRejected as refused:
        with transaction.atomic():
            FeedRun.objects.filter(pk=run.pk).update(status=FeedRun.Status.REJECTED, message=refused.message,
                                                     completed_at=now)
            record_event(AuditAction.FEED_REFUSED, actor=source_actor(source), keyring=keyring, at=now,
                         outcome=Outcome.REFUSED, context={"run": run.id, "reason": refused.message})
        raise
    run.refresh_from_db()
    return IngestOutcome(run, already_done=False)


@contextmanager
def only_runner(name: str) -> Iterator[None]:
    """Held for as long as one process takes in one file (or one load): a second that tries meanwhile gets
    ``FeedBusy`` instead of taking the same rows twice. Batches commit one by one, so a transaction's lock would
    not last the run: on PostgreSQL a session advisory lock (any machine), on SQLite, which is one machine's, a
    file lock in the var directory. Either goes with the process that held it, however it ends."""
    if connection.vendor == "postgresql":
        key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
            if not cursor.fetchone()[0]:
                raise FeedBusy()
        try:
            yield
        finally:
            try:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(%s)", [key])
            except DatabaseError:  # a transaction the error broke: the lock goes when the session does
                pass
        return
    folder = get_settings().var_dir / "locks"
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / f"{hashlib.sha256(name.encode()).hexdigest()[:32]}.lock").open("w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise FeedBusy() from None
        yield


def _run(run: FeedRun, source: SourceSystem, data: FeedData, *, fmt: str, keyring: KeyRing, now: datetime,
         engine: Backend | None, batch_size: int, progress: Callable[[int], None] | None) -> None:
    feeds = get_settings().feeds
    helped = feeds.workers > 1 and size_of(data) >= feeds.helpers_from_bytes
    options: dict[str, Any] = {"fmt": fmt, "source_code": source.code, "today": now.date(), "skip": run.rows_done,
                               "batch_size": batch_size}
    workers = processes.start(feeds.workers if helped else 1, keys=keyring,
                            origin=origin_of(source, run.id, now.date()))
    reader = None
    try:
        if helped:
            reader = processes.Reader(data, keys=IndexKeys.of(keyring), source_kind=source.kind, **options)
        batch = Batch(source, keyring=keyring, now=now, run_id=run.id, engine=engine, workers=workers)
        for chunk in reader if reader is not None else chunks(data, keyring=keyring, **options):
            _commit_batch(run, batch, chunk, keyring=keyring, now=now, source=source)
            # The collector is held back while a run works (processes.fewer_collections): a batch's garbage in
            # cycles is freed here, once a batch, rather than piling up for as long as the file lasts; and what
            # it freed is handed back, so that the run's memory stays what one batch needs.
            processes.give_back_memory()
            if progress:
                progress(chunk.upto)
        if run.mode == "full":
            _retire_missing(run, batch, keyring=keyring, now=now, source=source)
    finally:
        workers.close()
        if reader is not None:
            reader.close()
    with transaction.atomic():
        RunKey.objects.filter(run=run).delete()  # needed only while the run was taking rows
        FeedRun.objects.filter(pk=run.pk).update(status=FeedRun.Status.COMPLETED, completed_at=now)
        run.refresh_from_db()
        record_event(AuditAction.FEED_COMPLETED, actor=source_actor(source), keyring=keyring, at=now,
                     context={"run": run.id, "rows": run.rows_done, "accepted": run.rows_accepted,
                              "unchanged": run.rows_unchanged, "refused": run.rows_refused,
                              "fields_refused": run.fields_refused, "held": run.rows_held,
                              "children_created": run.children_created, "records_linked": run.records_linked,
                              "reviews_queued": run.reviews_queued, "children_merged": run.children_merged})


def _first_sight(run: FeedRun, entries: list[Entry]) -> tuple[list[Entry], list[Entry]]:
    """The batch's entries whose record ID no earlier row of the file had, and those that repeat one (of an
    earlier batch, as the run's keys say, or of this one)."""
    earlier = {key for (key,) in bulk.select_any("SELECT key FROM feeds_run_key WHERE run_id = %s AND key {any}",
                                                 [e.key for e in entries], [run.id])}
    first: list[Entry] = []
    repeats: list[Entry] = []
    for entry in entries:
        (repeats if entry.key in earlier else first).append(entry)
        earlier.add(entry.key)
    return first, repeats


def _commit_batch(run: FeedRun, batch: Batch, chunk: Chunk, *, keyring: KeyRing, now: datetime,
                  source: SourceSystem) -> None:
    with transaction.atomic():
        entries, repeats = _first_sight(run, chunk.entries)
        problems = chunk.problems
        if repeats:
            problems = sorted([*problems, *(Refusal(e.line, "source_record_id", REPEATED) for e in repeats)],
                              key=lambda p: p.line)
        result: BatchResult = batch.process(entries)
        bulk.insert("feeds_run_key", ["run_id", "key"], [(run.id, e.key) for e in entries])
        RowProblem.objects.bulk_create(_row_problems(run, problems))
        run.rows_done = chunk.upto
        run.rows_accepted += result.accepted
        run.rows_unchanged += result.unchanged
        run.rows_refused += chunk.refused + len(repeats)
        run.rows_held += result.held
        run.fields_refused += sum(1 for p in problems if taken_without(p))
        run.children_created += len(result.created)
        run.records_linked += result.linked
        run.reviews_queued += result.reviews
        run.children_merged += len(result.merged)
        run.save()
        actor = source_actor(source)
        if result.created:
            record_event(AuditAction.CHILD_CREATED, actor=actor, keyring=keyring, at=now, subjects=result.created,
                         context={"run": run.id, "count": len(result.created)})
        if result.updated:
            record_event(AuditAction.CHILD_UPDATED, actor=actor, keyring=keyring, at=now, subjects=result.updated,
                         context={"run": run.id, "count": len(result.updated)})
        if result.reviews:
            record_event(AuditAction.MATCH_REVIEW_QUEUED, actor=actor, keyring=keyring, at=now,
                         context={"run": run.id, "count": result.reviews})
        for merged in result.merged:  # as a data manager's link is audited (matching.review), by the feed's source
            record_event(AuditAction.RECORDS_MERGED, actor=actor, keyring=keyring, at=now,
                         subjects=[merged.survivor, merged.absorbed],
                         context={"run": run.id, "merge": merged.merge, "item": merged.item, "automatic": True,
                                  "survivor": merged.survivor, "absorbed": merged.absorbed})


def _retire_missing(run: FeedRun, batch: Batch, *, keyring: KeyRing, now: datetime, source: SourceSystem) -> None:
    """A full feed lists everything the source holds: its other records no longer count."""
    listed = RunKey.objects.filter(run=run, key=OuterRef("record_key"))
    missing = list(SourceRecord.objects.filter(source=source.code, active=True).exclude(Exists(listed))
                   .values_list("id", "child_id"))
    if not missing:
        return
    with transaction.atomic():
        SourceRecord.objects.filter(id__in=[m[0] for m in missing]).update(active=False, feed_run=run.id)
        children = child_rows(sorted({m[1] for m in missing}))
        result = BatchResult()
        batch.refresh(children, result)
        record_event(AuditAction.CHILD_UPDATED, actor=source_actor(source), keyring=keyring, at=now,
                     subjects=result.updated, context={"run": run.id, "records_no_longer_held": len(missing)})
