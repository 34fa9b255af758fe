"""A first load: many sources' files taken as one job (``contactpoint load``).

    files ─► read, validate, profile ─► one Splink link-and-dedupe ─► clustering ─► placements kept ─┐
             (helper processes, a     over every record of every    (matching.cluster:             │
              file each)              file (DuckDB, or Spark)        the feeds' own rules)          │
    ┌────────────────────────────────────────────────────────────────────────────────────────────────┘
    └─► children written a batch of groups at a time (workers build, seal and index; binary COPY)
        ─► rows too thin to make a child held ─► review items ─► each file's run completed and audited

The incremental path (``ingest.run``) looks every batch up against the index as it grows: right for a day's
feed into a loaded index, slow for the first 29 to 40 million rows, whose candidates are mostly in the same
files. A load scores every record against every other in one pass, as Splink is built to, and writes what it
decided. The rules are the feeds': the same model, thresholds, conflicts and best-view build, so a load gives
the index the feeds one after another would (``tests/ingest/test_load.py`` compares them).

Guarantees:
- into an empty index only: a loaded index takes feeds (``contactpoint ingest``);
- each file gets its run (``FeedRun``), its row problems and its audit entries, as a feed would: sending one of
  the files again later changes nothing;
- the same files again: the load is found complete and nothing changes;
- killed (kill -9) while reading or matching, nothing was written: running it again starts again; killed while
  writing, the placements are kept and each batch of children commits with the count done: running it again
  reads the files again and writes the rest;
- nothing in clear on disk: the files' rows and profiles stay in memory (DuckDB is given no temporary
  directory: ``matching.engine.connect``); placements are record keys (keyed hashes) and child numbers.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pyarrow as pa
from django.db import connection, transaction

from contactpoint import bulk
from contactpoint.access.models import SourceSystem
from contactpoint.access.sources import source_actor
from contactpoint.audit.actions import AuditAction
from contactpoint.audit.trail import Actor, record_event
from contactpoint.bestview.discrepancies import sync_discrepancies, sync_invalid
from contactpoint.children import source_records
from contactpoint.children.models import Child
from contactpoint.children.sealing import Identity, Sealed
from contactpoint.children.store import create_sealed, new_identity
from contactpoint.config import get_settings
from contactpoint.errors import FeedRejected
from contactpoint.feeds.models import FeedRun, LoadPlacement, LoadRun, RowProblem
from contactpoint.feeds.rows import Refusal
from contactpoint.ingest import held, processes
from contactpoint.ingest.batch import origin_of
from contactpoint.ingest.prepare import FeedData, ReadFile, sha256_of, size_of
from contactpoint.ingest.run import _row_problems, only_runner
from contactpoint.ingest.work import UNASSIGNED_LA, IndexKeys, LoadJob, Origin, View, Worker, responsible_la
from contactpoint.matching.cluster import decide
from contactpoint.matching.engine import Backend, score_all
from contactpoint.matching.frequencies import Frequencies
from contactpoint.matching.model import uses_frequencies
from contactpoint.matching.models import ReviewItem
from contactpoint.vault import bulkload
from contactpoint.vault.keyring import KeyRing

# New children written per transaction: about 13,000 records at the generator's 2.6 a child.
WRITE_GROUPS = 5000
HELD = -1  # the placement of a record too thin to make a child of its own (``ingest.held``)

# Only these of a profile are read by the clustering's conflict rules (``matching.cluster``).
_CLUSTER_COLUMNS = ("given", "family", "middle", "given_roots", "gender", "given_metaphone", "nhs_number", "upn",
                    "uln")


@dataclass(frozen=True)
class LoadFile:
    source: SourceSystem
    data: FeedData  # a file's path (``contactpoint load``: read by the readers, never held here) or its bytes
    fmt: str

    def sha256(self) -> str:
        return sha256_of(self.data)


@dataclass(frozen=True)
class LoadOutcome:
    load: LoadRun
    runs: list[FeedRun]
    already_done: bool


Progress = Callable[[str, int, int], None]  # (stage, done, total)


class _Profile(Mapping[str, Any]):
    """One record's profile as the clustering reads it, from the load's columns: made when asked for and not
    kept (a million profiles as dicts would take a gigabyte)."""

    __slots__ = ("_columns", "_at")

    def __init__(self, columns: dict[str, list[Any]], at: int) -> None:
        self._columns = columns
        self._at = at

    def __getitem__(self, name: str) -> Any:
        return self._columns[name][self._at]

    def get(self, name: str, default: Any = None) -> Any:
        column = self._columns.get(name)
        return default if column is None else column[self._at]

    def __iter__(self) -> Iterator[str]:
        return iter(self._columns)

    def __len__(self) -> int:
        return len(self._columns)


class _Profiles(Mapping[str, Mapping[str, Any]]):
    def __init__(self, positions: dict[str, int], table: pa.Table) -> None:
        self._positions = positions
        self._columns = {c: table.column(c).to_pylist() for c in _CLUSTER_COLUMNS}

    def __getitem__(self, uid: str) -> Mapping[str, Any]:
        return _Profile(self._columns, self._positions[uid])

    def __iter__(self) -> Iterator[str]:
        return iter(self._positions)

    def __len__(self) -> int:
        return len(self._positions)


def fingerprint(files: Sequence[LoadFile]) -> str:
    """The same files (by source and content, in the same order) are the same load."""
    digest = hashlib.sha256()
    for f in files:
        digest.update(f"{f.source.code}\0{f.sha256()}\n".encode())
    return digest.hexdigest()


def load(files: Sequence[LoadFile], *, keyring: KeyRing, now: datetime, engine: Backend | None = None,
         progress: Progress | None = None, batch_size: int | None = None) -> LoadOutcome:
    """Take ``files`` (in load order: the order feeds would come in, which decides, for example, the local
    authority responsible when sources disagree) into an empty index as one job, ``batch_size`` new children
    (default ``WRITE_GROUPS``) a transaction."""
    if not files:
        raise FeedRejected("a load needs at least one file")
    for f in files:
        if not f.source.active:
            raise FeedRejected(f"source system '{f.source.code}' is not active")
    if len({f.source.code for f in files}) != len(files):
        raise FeedRejected("one file per source: a source's file is everything it holds")
    print_ = progress or (lambda stage, done, total: None)
    shas = [f.sha256() for f in files]
    run = LoadRun.objects.filter(fingerprint=fingerprint(files)).first()
    if run is not None and run.stage == LoadRun.Stage.COMPLETED:
        return LoadOutcome(run, _runs(files, shas), already_done=True)
    if (run is None or run.stage == LoadRun.Stage.MATCHING) and Child.objects.exists():
        raise FeedRejected("the index holds children already: a load is the first one, into an empty index; "
                           "send feeds with 'contactpoint ingest' (or the API) from now on")
    if run is None:
        with transaction.atomic():
            run = LoadRun.objects.create(id=uuid.uuid4().hex, fingerprint=fingerprint(files), received_at=now)
            for f, sha in zip(files, shas, strict=True):
                feed = FeedRun.objects.create(id=uuid.uuid4().hex, source=f.source, sha256=sha, format=f.fmt,
                                              mode="full", received_at=now)
                record_event(AuditAction.FEED_RECEIVED, actor=source_actor(f.source), keyring=keyring, at=now,
                             context={"run": feed.id, "sha256": sha, "format": f.fmt, "mode": "full",
                                      "load": run.id})
    runs = _runs(files, shas)
    origins = [origin_of(f.source, feed.id, now.date()) for f, feed in zip(files, runs, strict=True)]
    with ExitStack() as held_by_us, processes.fewer_collections():
        # One runner a load, and none taking one of its files in as a feed meanwhile (``ingest.run``).
        for feed in runs:
            held_by_us.enter_context(only_runner(f"feed:{feed.id}"))
        run.refresh_from_db()
        if run.stage == LoadRun.Stage.COMPLETED:  # by a runner that held the locks until a moment ago
            return LoadOutcome(run, _runs(files, shas), already_done=True)
        started = time.perf_counter()
        read = _read(files, keyring, now, profiles=run.stage == LoadRun.Stage.MATCHING, progress=print_)
        seconds = {"read": round(time.perf_counter() - started, 1)}
        if run.stage == LoadRun.Stage.MATCHING:
            started = time.perf_counter()
            _match(run, files, runs, read, engine=engine, keyring=keyring, progress=print_)
            seconds["match"] = round(time.perf_counter() - started, 1)
        started = time.perf_counter()
        _write(run, files, runs, origins, read, keyring=keyring, now=now, progress=print_,
               batch_size=batch_size or WRITE_GROUPS)
        seconds["write"] = round(time.perf_counter() - started, 1)
    LoadRun.objects.filter(pk=run.pk).update(seconds={**run.seconds, **seconds})
    run.refresh_from_db()
    return LoadOutcome(run, _runs(files, shas), already_done=False)


def _helpers(files: Sequence[LoadFile]) -> int:
    """Helper processes for the load's work, as for a feed: none for small files (starting each costs a second)."""
    feeds = get_settings().feeds
    return feeds.workers if sum(size_of(f.data) for f in files) >= feeds.helpers_from_bytes else 1


def _runs(files: Sequence[LoadFile], shas: Sequence[str]) -> list[FeedRun]:
    return [FeedRun.objects.select_related("source").get(source=f.source, sha256=sha)
            for f, sha in zip(files, shas, strict=True)]


def _read(files: Sequence[LoadFile], keyring: KeyRing, now: datetime, *, profiles: bool,
          progress: Progress) -> list[ReadFile]:
    keys = IndexKeys.of(keyring)
    tasks = [(f.data, {"fmt": f.fmt, "keyring": keys, "source_code": f.source.code, "source_kind": f.source.kind,
                       "today": now.date(), "profiles": profiles}) for f in files]
    out: list[ReadFile | None] = [None] * len(files)
    progress("read", 0, len(files))
    for done, (n, read) in enumerate(processes.read_files(tasks, _helpers(files)), start=1):
        out[n] = read
        progress("read", done, len(files))
    return [r for r in out if r is not None]


def _match(run: LoadRun, files: Sequence[LoadFile], runs: Sequence[FeedRun], read: Sequence[ReadFile], *,
           engine: Backend | None, keyring: KeyRing, progress: Progress) -> None:
    """Score every record against every other, decide as the feeds do, and keep the placements (with each file's
    row problems and counts) for writing."""
    table = pa.concat_tables([r.profiles for r in read])
    positions = {uid: n for n, uid in enumerate(table.column("unique_id").to_pylist())}
    frequencies = Frequencies.load(keyring) if uses_frequencies() else None
    progress("match", 0, 1)
    scored = score_all(table, engine=engine, frequencies=frequencies)
    outcome = decide(list(positions), {}, _Profiles(positions, table), scored.edges)
    del table
    for r in read:  # the profiles are done with: writing needs the payloads alone
        r.profiles = r.profiles.slice(0, 0)
    progress("match", 1, 1)
    # Groups numbered in load order (file, then line): the first record of a child decides where it comes.
    number: dict[str, int] = {}
    records: list[tuple[int, str, str]] = []  # (group, source, record key)
    lacking: dict[str, list[int]] = defaultdict(list)  # group root -> what each of its records lacks
    for r in read:
        for key, lacks in zip(r.keys, r.lacks, strict=True):
            lacking[outcome.group_of[key]].append(lacks)
    thin = {root for root, each in lacking.items() if held.thin(each)}  # too little, together, to make a child
    counts = [{"created": 0, "linked": 0, "held": 0} for _ in files]
    for n, (f, r) in enumerate(zip(files, read, strict=True)):
        for key in r.keys:
            root = outcome.group_of[key]
            if root in thin:
                records.append((HELD, f.source.code, key))
                counts[n]["held"] += 1
                continue
            if root not in number:
                number[root] = len(number)
                counts[n]["created"] += 1
            else:
                counts[n]["linked"] += 1
            records.append((number[root], f.source.code, key))
    reviews = outcome.reviews
    evidence = scored.evidence((rv.record_a, rv.record_b) for rv in reviews)
    kept_reviews = [{"a": rv.record_a, "b": rv.record_b, "probability": rv.probability, "why": rv.why,
                     "evidence": evidence.get((rv.record_a, rv.record_b)) or evidence.get((rv.record_b, rv.record_a))
                     or {}} for rv in reviews]
    with transaction.atomic():
        bulk.insert("feeds_load_placement", ("load_id", "child_number", "source", "record_key"),
                    ((run.id, g, source, key) for g, source, key in records))
        for feed, r, c in zip(runs, read, counts, strict=True):
            RowProblem.objects.bulk_create(_row_problems(feed, r.problems), batch_size=5000)
            FeedRun.objects.filter(pk=feed.pk).update(
                rows_done=r.rows, rows_accepted=len(r.keys), rows_refused=r.refused,
                fields_refused=sum(1 for p in r.problems if not isinstance(p, Refusal)),
                rows_held=c["held"], children_created=c["created"], records_linked=c["linked"])
        LoadRun.objects.filter(pk=run.pk).update(
            stage=LoadRun.Stage.WRITING, records=len(records), groups_total=len(number),
            pairs_scored=len(scored.edges), reviews=kept_reviews)
    run.refresh_from_db()


def _placements(run: LoadRun) -> dict[int, list[tuple[str, str]]]:
    """(source, record key) of each record, by group."""
    out: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for group, source, key in LoadPlacement.objects.filter(load=run).order_by("id").values_list(
            "child_number", "source", "record_key").iterator(chunk_size=50_000):
        out[group].append((source, key))
    return out


def _write(run: LoadRun, files: Sequence[LoadFile], runs: Sequence[FeedRun], origins: Sequence[Origin],
           read: Sequence[ReadFile], *, keyring: KeyRing, now: datetime, progress: Progress,
           batch_size: int) -> None:
    if run.stage == LoadRun.Stage.COMPLETED:
        return
    at = {(f.source.code, key): (n, i) for n, (f, r) in enumerate(zip(files, read, strict=True))
          for i, key in enumerate(r.keys)}
    groups = _placements(run)
    kinds = {f.source.code: f.source.kind for f in files}
    workers = processes.start(_helpers(files), keys=keyring, origin=origins[0])

    def sealing(start: int) -> _Sealing | None:
        """Hand the workers the batch of groups from ``start`` to seal (under identities made here: the workers
        never see the key ring), and go on; None past the last group."""
        if start >= run.groups_total:
            return None
        upto = min(start + batch_size, run.groups_total)
        batch = [[at[member] for member in groups[g]] for g in range(start, upto)]
        rows = [[(origins[n], read[n].keys[i], read[n].payload(i)) for n, i in members] for members in batch]
        identities = [new_identity(keyring) for _ in batch]
        answers = workers.load_later([LoadJob(i.cpid, i.data_key, r) for i, r in zip(identities, rows, strict=True)])
        return _Sealing(upto, batch, rows, identities, answers)

    if run.groups_done == 0 and not run.keys_set_aside:
        with transaction.atomic():  # the drop and the note of what to make again, together
            run.keys_set_aside = bulkload.set_aside()
            LoadRun.objects.filter(pk=run.pk).update(keys_set_aside=run.keys_set_aside)
    try:
        progress("write", run.groups_done, run.groups_total)
        ahead = sealing(run.groups_done)
        while ahead is not None:
            this, sealed = ahead, ahead.answers()
            ahead = sealing(this.upto)  # the workers seal the next batch while this one is written
            with transaction.atomic():
                cpids = _write_children(this, sealed, files, read, origins, kinds, keyring=keyring, now=now)
                record_event(AuditAction.CHILD_CREATED, actor=_actor(files), keyring=keyring, at=now,
                             subjects=cpids, context={"load": run.id, "count": len(cpids)})
                run.groups_done = this.upto
                LoadRun.objects.filter(pk=run.pk).update(groups_done=this.upto)
            progress("write", run.groups_done, run.groups_total)
    finally:
        workers.close()
    with transaction.atomic():
        started = time.perf_counter()
        bulkload.rebuild(run.keys_set_aside)  # after the write bar's end: a minute or so at a million records
        LoadRun.objects.filter(pk=run.pk).update(keys_set_aside=[], seconds={
            **run.seconds, **({"keys": round(time.perf_counter() - started, 1)} if run.keys_set_aside else {})})
        _hold(groups.get(HELD, []), at, files, runs, read, origins, keyring=keyring)
        queued = _queue_reviews(run, files, keyring=keyring, now=now)
        for f, feed in zip(files, runs, strict=True):
            FeedRun.objects.filter(pk=feed.pk).update(status=FeedRun.Status.COMPLETED, completed_at=now,
                                                      reviews_queued=queued.get(f.source.code, 0))
            feed.refresh_from_db()
            record_event(AuditAction.FEED_COMPLETED, actor=source_actor(f.source), keyring=keyring, at=now,
                         context={"run": feed.id, "rows": feed.rows_done, "accepted": feed.rows_accepted,
                                  "unchanged": 0, "refused": feed.rows_refused,
                                  "fields_refused": feed.fields_refused, "held": feed.rows_held,
                                  "children_created": feed.children_created, "records_linked": feed.records_linked,
                                  "reviews_queued": feed.reviews_queued, "children_merged": 0, "load": run.id})
        LoadPlacement.objects.filter(load=run).delete()
        LoadRun.objects.filter(pk=run.pk).update(stage=LoadRun.Stage.COMPLETED, completed_at=now)
    run.refresh_from_db()


def _actor(files: Sequence[LoadFile]) -> Actor:
    """Children a load creates are created by its sources together: audited as the first file's source (the
    entry names the load, whose files are in their runs' entries)."""
    return source_actor(files[0].source)


@dataclass(frozen=True)
class _Sealing:
    """A batch of groups handed to the workers to seal: its records, the identities its children will have, and
    how to wait for what the workers make of them."""

    upto: int  # the group after the batch's last
    batch: list[list[tuple[int, int]]]  # each new child's records: (file, position)
    rows: list[list[tuple[Origin, str, bytes]]]
    identities: list[Identity]
    answers: Callable[[], list[tuple[View, list[bytes]]]]


def _write_children(this: _Sealing, sealed: list[tuple[View, list[bytes]]], files: Sequence[LoadFile],
                    read: Sequence[ReadFile], origins: Sequence[Origin], kinds: dict[str, str], *,
                    keyring: KeyRing, now: datetime) -> list[str]:
    """One batch of new children, sealed by the workers under ``this.identities``, written with its records."""
    batch = this.batch
    answers = sealed

    def prepare(identities: list[Identity]) -> list[tuple[Sealed, str, bool]]:
        nonlocal answers
        if identities is not this.identities:
            # A ContactPoint ID collided (about 1 in 10,000 per million): sealed again under new ones, here, since
            # the workers are busy with the next batch.
            answers = Worker(keyring, origins[0]).load([LoadJob(i.cpid, i.data_key, r)
                                                        for i, r in zip(identities, this.rows, strict=True)])
        return [(view.sealed, view.responsible_la, False) for view, _ in answers]

    created = create_sealed(keyring, len(batch), prepare, now=now, identities=this.identities)
    received = connection.ops.adapt_datefield_value(now.date())
    bulk.insert("children_source_record", ("child_id", "source", "source_kind", "record_key", "content_hash",
                                           "feed_run", "received", "active", "payload"), (
        (made.id, files[n].source.code, kinds[files[n].source.code], read[n].keys[i], read[n].hashes[i],
         origins[n].run, received, True, sealed)
        for made, members, (_, sealed_records) in zip(created, batch, answers, strict=True)
        for (n, i), sealed in zip(members, sealed_records, strict=True)))
    sync_discrepancies({made.id: view.discrepancies for made, (view, _) in zip(created, answers, strict=True)},
                       now=now)
    flagged = {(files[n].source.code, read[n].keys[i]): read[n].flags[i] for members in batch for n, i in members
               if read[n].flags[i]}
    if flagged:  # by the children just made (an index): a record key alone is not one (source comes first)
        sync_invalid({record_id: (child_id, source, frozenset(flagged[source, key]))
                      for record_id, source, key, child_id in bulk.select_any(
                          "SELECT id, source, record_key, child_id FROM children_source_record WHERE child_id {any}",
                          [made.id for made in created]) if (source, key) in flagged}, now=now)
    return [made.cpid for made in created]


def _hold(members: list[tuple[str, str]], at: dict[tuple[str, str], tuple[int, int]], files: Sequence[LoadFile],
          runs: Sequence[FeedRun], read: Sequence[ReadFile], origins: Sequence[Origin], *, keyring: KeyRing) -> None:
    """Rows linked to no child and too thin to make one, held as a feed holds them (``ingest.held``)."""
    by_file: dict[int, list[held.ToHold]] = defaultdict(list)
    for member in members:
        n, i = at[member]
        r = read[n]
        row = source_records.loads(r.payload(i), line=r.lines[i])
        lacking = held.thin([r.lacks[i]])
        by_file[n].append(held.ToHold(row, r.keys[i], r.hashes[i], r.payload(i), r.flags[i],
                                      f"linked to no child, and with {lacking} a new child cannot be made",
                                      responsible_la(origins[n], [row])))
    for n, items in sorted(by_file.items()):
        held.hold(items, source=files[n].source.code, source_kind=files[n].source.kind, run_id=runs[n].id,
                  received=origins[n].received, keyring=keyring)


def _queue_reviews(run: LoadRun, files: Sequence[LoadFile], *, keyring: KeyRing, now: datetime) -> dict[str, int]:
    """The pairs the load doubts, as review items between the children their records went to; how many by the
    source of each pair's first record."""
    if not run.reviews:
        return {}
    wanted = {k for rv in run.reviews for k in (rv["a"], rv["b"])}
    child_of: dict[str, tuple[int, str, str]] = {}
    for f in files:  # by source and record key, the unique index's order
        for key, child_id, source, la in bulk.select_any(
                "SELECT r.record_key, r.child_id, r.source, c.responsible_la FROM children_source_record r "
                "JOIN children_child c ON c.id = r.child_id WHERE r.source = %s AND r.record_key {any}",
                sorted(wanted), [f.source.code]):
            child_of[key] = (child_id, source, la)
    items: list[ReviewItem] = []
    asked: set[frozenset[int]] = set()
    counts: dict[str, int] = defaultdict(int)
    for rv in run.reviews:
        a, b = child_of.get(rv["a"]), child_of.get(rv["b"])
        if a is None or b is None or a[0] == b[0] or frozenset((a[0], b[0])) in asked:
            continue  # a held record, or one child after all
        asked.add(frozenset((a[0], b[0])))
        items.append(ReviewItem(child_a_id=a[0], child_b_id=b[0], record_a=rv["a"], record_b=rv["b"],
                                probability=rv["probability"], evidence=rv["evidence"], why=rv["why"],
                                responsible_la=a[2] or UNASSIGNED_LA, created_at=now))
        counts[a[1]] += 1
    ReviewItem.objects.bulk_create(items, batch_size=5000)
    if items:
        record_event(AuditAction.MATCH_REVIEW_QUEUED, actor=source_actor(files[0].source), keyring=keyring,
                     at=now, context={"load": run.id, "count": len(items)})
    return dict(counts)


__all__ = ["HELD", "WRITE_GROUPS", "LoadFile", "LoadOutcome", "fingerprint", "load"]
