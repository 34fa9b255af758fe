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
the index the feeds one after another would (``tests/ingest/test_load.py`` compares them). Only a file's count of
rows held can differ: a feed holds a row too thin to make a child until a later source's record of that child
takes it in (its run still counts it held), where a load, seeing that record at once, never holds it.

Guarantees:
- into an empty index only: a loaded index takes feeds (``contactpoint ingest``);
- each file gets its run (``FeedRun``), its row problems and its audit entries, as a feed would: sending one of
  the files again later changes nothing;
- the same files again: the load is found complete and nothing changes;
- killed (kill -9) while reading or matching, nothing was written: running it again starts again; killed while
  writing, the placements are kept and each batch of children commits with the count done: running it again
  reads the files again (to the same positions) and writes the rest;
- nothing in clear on disk: the profiles stay in memory (DuckDB is given no temporary directory:
  ``matching.engine.connect``); the rows wait for the write sealed on disk under a key only this process holds
  (``ingest.spill``); placements are file and row numbers and child numbers.

Memory: what stays in the main process from reading to writing is each record's profile (as Arrow) and a few
bytes; records are numbered in the load (integers, not their keys) for matching and the clustering; the write
reads its placements from the database a batch of children at a time.
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
import time
import uuid
from array import array
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from django.db import connection, transaction

from contactpoint import bulk
from contactpoint.access.models import SourceSystem
from contactpoint.access.sources import source_actor
from contactpoint.audit.actions import AuditAction
from contactpoint.audit.trail import Actor, record_event
from contactpoint.bestview.discrepancies import open_for_new
from contactpoint.children import source_records
from contactpoint.children.models import Child
from contactpoint.children.sealing import Identity, Sealed
from contactpoint.children.store import create_sealed, new_identity
from contactpoint.config import get_settings
from contactpoint.errors import FeedRejected
from contactpoint.feeds.models import FeedRun, LoadPlacement, LoadRun, RowProblem
from contactpoint.feeds.rows import taken_without
from contactpoint.ingest import held, processes, spill
from contactpoint.ingest.batch import origin_of
from contactpoint.ingest.prepare import LACKS_BIRTH, LACKS_NAME, FeedData, ReadFile, sha256_of, size_of
from contactpoint.ingest.run import _row_problems, only_runner
from contactpoint.ingest.spill import Stored
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
# Set aside while a load writes (``vault.bulkload``), with the blind index's keys: whatever takes a random value a
# row, whose b-tree, once past the database's memory, made the write grow faster than the rows. The source records'
# unique key (a keyed hash); a child's ContactPoint ID (its number, the primary key, stays: a ContactPoint ID that
# collides is caught by it); and the index and foreign key by child of the tables written with the children (a
# child's number is its random ContactPoint ID; each row's foreign key was also a check at commit, where made again
# it is one join). Nothing reads them while the load writes; each is made again, and so checked, at the end.
SET_ASIDE: tuple[tuple[str, dict[str, Any]], ...] = (
    ("children_child", {"only": frozenset({"child_cpid_unique"})}),
    ("children_source_record", {"only": frozenset({"source_record_unique"})}),
    ("children_source_record", {"on": "child_id"}),
    ("vault_data_key", {"on": "child_id"}),
    ("bestview_discrepancy", {"on": "child_id"}),
)
HELD = -1  # the placement of a record too thin to make a child of its own (``ingest.held``)

# Only these of a profile are read by the clustering's conflict rules (``matching.cluster``).
_CLUSTER_COLUMNS = ("given", "given_first", "family", "middle", "given_roots", "gender", "given_metaphone", "dob",
                    "nhs_number", "upn", "uln", "postcode", "address_key", "carer_names")


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


class _Column:
    """One profile column of every record of a load, dictionary-encoded: a position per record into the column's
    distinct values, as Python objects once each (3 million records' names as Python strings took gigabytes;
    their distinct values are a small part of them). The positions are an ``array``, not numpy: the clustering
    reads a value at a time (46 million reads at 3 million records), and a numpy scalar made each read about a
    sixth slower."""

    __slots__ = ("_at", "_values")

    def __init__(self, column: pa.Array) -> None:
        encoded = pc.dictionary_encode(column)
        self._at = _positions(encoded.indices.fill_null(-1))
        self._values = [*encoded.dictionary.to_pylist(), None]  # -1: no value

    def __getitem__(self, position: int) -> Any:
        return self._values[self._at[position]]


class _ListColumn:
    """A column of lists (given_roots, carer_names), each record's list a slice of one dictionary-encoded
    column of their values."""

    __slots__ = ("_offsets", "_valid", "_values")

    def __init__(self, column: pa.ListArray) -> None:
        self._offsets = _positions(column.offsets)
        self._valid = column.is_valid().to_numpy(zero_copy_only=False).tobytes()
        self._values = _Column(column.values)

    def __getitem__(self, position: int) -> list[Any] | None:
        if not self._valid[position]:
            return None
        values = self._values
        return [values[i] for i in range(self._offsets[position], self._offsets[position + 1])]


def _positions(column: pa.Array) -> array[int]:
    """Integers as a compact ``array`` of C ints (4 bytes each, read as Python ints)."""
    out = array("i")
    out.frombytes(column.cast(pa.int32()).to_numpy(zero_copy_only=False).tobytes())
    return out


class _Profile(Mapping[str, Any]):
    """One record's profile as the clustering reads it, from the load's columns: made when asked for and not
    kept (a million profiles as dicts would take a gigabyte)."""

    __slots__ = ("_columns", "_at")

    def __init__(self, columns: dict[str, _Column | _ListColumn], at: int) -> None:
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


class _Profiles(Mapping[int, Mapping[str, Any]]):
    """Every record's profile by its number in the load."""

    def __init__(self, table: pa.Table) -> None:
        self._count = len(table)
        self._columns: dict[str, _Column | _ListColumn] = {}
        for c in _CLUSTER_COLUMNS:
            column = table.column(c).combine_chunks()
            self._columns[c] = _ListColumn(column) if pa.types.is_list(column.type) else _Column(column)

    def __getitem__(self, uid: int) -> Mapping[str, Any]:
        return _Profile(self._columns, uid)

    def __iter__(self) -> Iterator[int]:
        return iter(range(self._count))

    def __len__(self) -> int:
        return self._count


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
        read = _read(run, files, keyring, now, profiles=run.stage == LoadRun.Stage.MATCHING, progress=print_)
        held_by_us.callback(_close, read)
        seconds = {"read": round(time.perf_counter() - started, 1)}
        if run.stage == LoadRun.Stage.MATCHING:
            started = time.perf_counter()
            seconds.update(_match(run, files, runs, read, engine=engine, keyring=keyring, progress=print_))
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


def _spill_folder(run: LoadRun) -> Path:
    return get_settings().var_dir / "load" / run.id


def _read(run: LoadRun, files: Sequence[LoadFile], keyring: KeyRing, now: datetime, *, profiles: bool,
          progress: Progress) -> list[ReadFile]:
    keys = IndexKeys.of(keyring)
    folder = _spill_folder(run)
    spill.clear(folder)  # what a reader killed in an earlier attempt left: sealed under a key that died with it
    tasks = [(f.data, {"fmt": f.fmt, "keyring": keys, "source_code": f.source.code, "source_kind": f.source.kind,
                       "today": now.date(), "profiles": profiles, "spill_to": folder}) for f in files]
    out: list[ReadFile | None] = [None] * len(files)
    progress("read", 0, len(files))
    try:
        for done, (n, read) in enumerate(processes.read_files(tasks, _helpers(files)), start=1):
            read.spill.open()  # and gone from the folder: the file lasts as long as this process
            out[n] = read
            progress("read", done, len(files))
    except BaseException:
        _close(r for r in out if r is not None)
        spill.clear(folder)
        raise
    spill.clear(folder)
    return [r for r in out if r is not None]


def _close(read: Iterable[ReadFile]) -> None:
    for r in read:
        r.spill.close()


class _Numbering:
    """A record's number in the load (its unique_id in matching) from its file and position, and back."""

    def __init__(self, read: Sequence[ReadFile]) -> None:
        self.starts = list(itertools.accumulate((len(r) for r in read), initial=0))

    def of(self, uid: int) -> tuple[int, int]:
        n = bisect.bisect_right(self.starts, uid) - 1
        return n, uid - self.starts[n]

    @property
    def total(self) -> int:
        return self.starts[-1]


def _match(run: LoadRun, files: Sequence[LoadFile], runs: Sequence[FeedRun], read: Sequence[ReadFile], *,
           engine: Backend | None, keyring: KeyRing, progress: Progress) -> dict[str, float]:
    """Score every record against every other, decide as the feeds do, and keep the placements (with each file's
    row problems and counts) for writing. Returns the seconds its parts took (scoring, clustering, keeping), for
    the operator: the parts of ``match`` that grow differently with the records."""
    started = time.perf_counter()
    seconds: dict[str, float] = {}
    numbering = _Numbering(read)
    table = pa.concat_tables([r.profiles.set_column(0, "unique_id", pc.add(r.profiles.column("unique_id"), start))
                              for r, start in zip(read, numbering.starts, strict=False)])
    for r in read:  # what matching needs is in the table now; writing needs only the spilled rows
        r.profiles = r.profiles.slice(0, 0)
    frequencies = Frequencies.load(keyring) if uses_frequencies() else None
    progress("match", 0, 1)
    scored = score_all(table, engine=engine, frequencies=frequencies)
    seconds["scoring"] = time.perf_counter() - started
    started = time.perf_counter()
    profiles = _Profiles(table)
    del table
    outcome = decide(range(numbering.total), {}, profiles, scored.edges)
    del profiles
    group_of = outcome.group_of
    reviews = outcome.reviews
    evidence = scored.evidence((rv.record_a, rv.record_b) for rv in reviews)
    pairs = len(scored.edges)
    del outcome, scored
    seconds["clustering"] = time.perf_counter() - started
    started = time.perf_counter()
    progress("match", 1, 1)
    lacks = b"".join(r.lacks for r in read)
    # What each group's records lack together, for the groups with a record that lacks anything: ``held.thin`` of
    # that is whether the group is too thin to make a child (a list of every group's records would take gigabytes).
    together = dict.fromkeys((group_of[uid] for uid, lacking in enumerate(lacks) if lacking), LACKS_BIRTH | LACKS_NAME)
    if together:
        for uid, lacking in enumerate(lacks):
            root = group_of[uid]
            if root in together:
                together[root] &= lacking
    thin = {root for root, common in together.items() if held.thin([common])}
    # Groups numbered in load order (file, then line): the first record of a child decides where it comes.
    number: dict[int, int] = {}
    counts = [{"created": 0, "linked": 0, "held": 0} for _ in files]
    placed = array("i", bytes(4 * numbering.total))
    for n, start in enumerate(numbering.starts[:-1]):
        for uid in range(start, numbering.starts[n + 1]):
            root = group_of[uid]
            if root in thin:
                placed[uid] = HELD
                counts[n]["held"] += 1
                continue
            if root not in number:
                number[root] = len(number)
                counts[n]["created"] += 1
            else:
                counts[n]["linked"] += 1
            placed[uid] = number[root]
    groups_total = len(number)
    del group_of, number

    def key_of(uid: int) -> str:
        n, i = numbering.of(uid)
        return read[n].spill.get(i).key

    kept_reviews = [{"a": key_of(rv.record_a), "b": key_of(rv.record_b), "probability": rv.probability,
                     "why": rv.why, "evidence": evidence.get((rv.record_a, rv.record_b))
                     or evidence.get((rv.record_b, rv.record_a)) or {}} for rv in reviews]
    # Kept in the children's order, each child's records in load order: the write reads a batch of children at a
    # time, which is then a run of the table's pages. In load order a child's later records lay all over it, and a
    # batch read a page for nearly every record (at 3 million records the table is 243 MB, twice PostgreSQL's
    # default shared buffers).
    # A stable sort, kept as 4-byte numbers as ``placed`` is (a list would hold an object a record: 1 GB for England).
    in_order = array("i", pc.sort_indices(pa.array(placed, pa.int32())).cast(pa.int32()).to_numpy().tobytes())
    with transaction.atomic():
        bulk.insert("feeds_load_placement", ("load_id", "child_number", "file", "position"),
                    ((run.id, placed[uid], *numbering.of(uid)) for uid in in_order))
        for feed, r, c in zip(runs, read, counts, strict=True):
            RowProblem.objects.bulk_create(_row_problems(feed, r.problems), batch_size=5000)
            FeedRun.objects.filter(pk=feed.pk).update(
                rows_done=r.rows, rows_accepted=len(r), rows_refused=r.refused,
                fields_refused=sum(1 for p in r.problems if taken_without(p)),
                rows_held=c["held"], children_created=c["created"], records_linked=c["linked"])
        LoadRun.objects.filter(pk=run.pk).update(
            stage=LoadRun.Stage.WRITING, records=numbering.total, groups_total=groups_total,
            pairs_scored=pairs, reviews=kept_reviews)
    run.refresh_from_db()
    seconds["keeping"] = time.perf_counter() - started
    return {part: round(s, 1) for part, s in seconds.items()}


def _placements(run: LoadRun, start: int, upto: int) -> list[list[tuple[int, int]]]:
    """(file, position) of each record of the children numbered ``start`` to ``upto`` (not included), by child
    (-1 to 0: the held records)."""
    out: list[list[tuple[int, int]]] = [[] for _ in range(upto - start)]
    for group, n, i in LoadPlacement.objects.filter(load=run, child_number__gte=start, child_number__lt=upto) \
            .order_by("child_number", "id").values_list("child_number", "file", "position").iterator(
            chunk_size=20_000):
        out[group - start].append((n, i))
    return out


def _write(run: LoadRun, files: Sequence[LoadFile], runs: Sequence[FeedRun], origins: Sequence[Origin],
           read: Sequence[ReadFile], *, keyring: KeyRing, now: datetime, progress: Progress,
           batch_size: int) -> None:
    if run.stage == LoadRun.Stage.COMPLETED:
        return
    kinds = {f.source.code: f.source.kind for f in files}
    workers = processes.start(_helpers(files), keys=keyring, origin=origins[0])

    def sealing(start: int) -> _Sealing | None:
        """Hand the workers the batch of groups from ``start`` to seal (under identities made here: the workers
        never see the key ring), and go on; None past the last group."""
        if start >= run.groups_total:
            return None
        upto = min(start + batch_size, run.groups_total)
        batch = [[(n, read[n].spill.get(i)) for n, i in members] for members in _placements(run, start, upto)]
        rows = [[(origins[n], stored.key, stored.payload) for n, stored in members] for members in batch]
        identities = [new_identity(keyring) for _ in batch]
        answers = workers.load_later([LoadJob(i.cpid, i.data_key, r) for i, r in zip(identities, rows, strict=True)])
        return _Sealing(upto, batch, rows, identities, answers)

    if run.groups_done == 0 and not run.keys_set_aside:
        with transaction.atomic():  # the drop and the note of what to make again, together
            run.keys_set_aside = [*bulkload.set_aside(), *(statement for table, which in SET_ASIDE
                                                            for statement in bulkload.set_aside(table, **which))]
            LoadRun.objects.filter(pk=run.pk).update(keys_set_aside=run.keys_set_aside)
    try:
        progress("write", run.groups_done, run.groups_total)
        ahead = sealing(run.groups_done)
        while ahead is not None:
            this, sealed = ahead, ahead.answers()
            ahead = sealing(this.upto)  # the workers seal the next batch while this one is written
            with transaction.atomic():
                cpids = _write_children(this, sealed, files, origins, kinds, keyring=keyring, now=now)
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
        _hold(_placements(run, HELD, HELD + 1)[0], files, runs, read, origins, keyring=keyring)
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
    batch: list[list[tuple[int, Stored]]]  # each new child's records: (file, row)
    rows: list[list[tuple[Origin, str, bytes]]]
    identities: list[Identity]
    answers: Callable[[], list[tuple[View, list[bytes]]]]


def _write_children(this: _Sealing, sealed: list[tuple[View, list[bytes]]], files: Sequence[LoadFile],
                    origins: Sequence[Origin], kinds: dict[str, str], *,
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
    # The records' IDs taken first, so that their discrepancy items can name them without reading them back.
    ids = iter(bulk.reserve_ids("children_source_record", sum(len(members) for members in batch)))
    written = [(next(ids), made.id, n, stored, sealed)
               for made, members, (_, sealed_records) in zip(created, batch, answers, strict=True)
               for (n, stored), sealed in zip(members, sealed_records, strict=True)]
    bulk.insert("children_source_record", ("id", "child_id", "source", "source_kind", "record_key", "content_hash",
                                           "feed_run", "received", "active", "payload"), (
        (record_id, child_id, files[n].source.code, kinds[files[n].source.code], stored.key, stored.content_hash,
         origins[n].run, received, True, sealed) for record_id, child_id, n, stored, sealed in written))
    open_for_new({made.id: view.discrepancies for made, (view, _) in zip(created, answers, strict=True)},
                 {(child_id, stored.key): (record_id, files[n].source.code)
                  for record_id, child_id, n, stored, _ in written},
                 {record_id: (child_id, files[n].source.code, frozenset(stored.flags))
                  for record_id, child_id, n, stored, _ in written if stored.flags}, now=now)
    return [made.cpid for made in created]


def _hold(members: list[tuple[int, int]], files: Sequence[LoadFile], runs: Sequence[FeedRun],
          read: Sequence[ReadFile], origins: Sequence[Origin], *, keyring: KeyRing) -> None:
    """Rows linked to no child and too thin to make one, held as a feed holds them (``ingest.held``)."""
    by_file: dict[int, list[held.ToHold]] = defaultdict(list)
    for n, i in members:
        stored = read[n].spill.get(i)
        row = source_records.loads(stored.payload, line=stored.line)
        lacking = held.thin([read[n].lacks[i]])
        by_file[n].append(held.ToHold(row, stored.key, stored.content_hash, stored.payload, stored.flags,
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
