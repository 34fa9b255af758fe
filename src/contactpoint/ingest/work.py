"""A batch's work for each child that needs no database: opening the child's source records and profiling them
for the match model; building, sealing and indexing the child's best view.

    pipeline (database, Splink) ──open(children)──►  Worker: decrypt records, profile them   ──► profiles
                                ──views(children)─►  Worker: best view, seal, index tokens   ──► View
                                ──create(groups)──►  Worker: a new child's view, sealed      ──► View

A ``Worker`` is given everything as bytes and plain values (a child's data key, its sealed records) and answers
the same way, so it can run in this process or in a helper process (``contactpoint.ingest.processes``). What a
worker opened for ``open`` it keeps until the next ``open``, for ``views`` of the same children: a child's
records are decrypted once per batch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, NamedTuple

from contactpoint.bestview.build import Amendment, Held, Manual, build
from contactpoint.children import source_records
from contactpoint.children.record import ChildRecord
from contactpoint.children.sealing import Sealed, seal
from contactpoint.feeds.rows import FeedRow
from contactpoint.ingest.prepare import IDENTIFIER_FIELDS
from contactpoint.matching.profile import profile_row
from contactpoint.reference import la_for_postcode
from contactpoint.vault import blindindex as bi
from contactpoint.vault.cipher import ChildCipher

UNASSIGNED_LA = "000"

# A source record as stored: (source, source kind, feed run, received, record key, payload sealed with the
# child's data key).
Stored = tuple[str, str, str, date, str, bytes]


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a feed's records come from: the source, its run, and what the responsible-LA rule asks of it."""

    source: str
    kind: str
    run: str
    received: date
    organisation_kind: str
    organisation_la: str | None


# Named tuples, not dataclasses: these cross between processes by the hundred thousand, and a tuple is unpickled
# in C where a slotted dataclass calls back into Python for every field.
class FoundBy(NamedTuple):
    """What a child is looked up by (its best view's date of birth, identifiers and postcode), opened to tell a
    real candidate from a bucket-mate."""

    date_of_birth: date
    # (field, value) of each identifier, and ("postcode", postcode); None: not opened
    identifiers: frozenset[tuple[str, str]] | None = None

    @classmethod
    def of(cls, record: ChildRecord) -> FoundBy:
        held = {(f, s.value) for f in IDENTIFIER_FIELDS if (s := getattr(record, f)) is not None}
        held |= {("postcode", p) for p in (record.postcode, *record.other_postcodes) if p}
        return cls(record.date_of_birth.value, frozenset(held))


def _job_repr(job: Any) -> str:
    # A job holds a child's data key and, for new records, their payloads in clear: neither may reach a log, an
    # assertion's diff or an error page through a repr.
    return f"{type(job).__name__}(cpid={job.cpid!r}, ...)"


class OpenJob(NamedTuple):
    child_id: int
    cpid: str
    data_key: bytes
    records: list[Stored]

    def __repr__(self) -> str:
        return _job_repr(self)


class ViewJob(NamedTuple):
    """Build a child's best view from its records: those ``open`` kept (``records`` None) or ``records``, with
    ``added`` (this batch's new records of the child: record key and payload in clear) and practitioners'
    entries."""

    child_id: int
    cpid: str
    data_key: bytes
    live: bool
    shielded: bool
    responsible_la: str
    records: list[Stored] | None = None
    added: list[tuple[str, bytes]] | None = None
    manual: list[Manual] | None = None
    amendments: list[Amendment] | None = None  # the local authority's amendments in force (records.amendments)

    def __repr__(self) -> str:
        return _job_repr(self)


class NewJob(NamedTuple):
    """A new child from a group of this batch's records (record key, payload in clear)."""

    cpid: str
    data_key: bytes
    rows: list[tuple[str, bytes]]

    def __repr__(self) -> str:
        return _job_repr(self)


class LoadJob(NamedTuple):
    """A new child of a first load (``ingest.load``): its records from every source, in load order (the source's
    origin, record key, payload in clear)."""

    cpid: str
    data_key: bytes
    rows: list[tuple[Origin, str, bytes]]

    def __repr__(self) -> str:
        return _job_repr(self)


class View(NamedTuple):
    sealed: Sealed
    found: FoundBy
    discrepancies: frozenset[tuple[str, str]]  # (record key, field)
    responsible_la: str
    retired: frozenset[str] = frozenset()  # amendments a newer agreeing source value has made unnecessary


def responsible_la(origin: Origin, rows: Iterable[FeedRow], current: str | None = None) -> str:
    """The local authority responsible for a child: the LA whose own systems hold them, else the one they
    live in, else the one already responsible."""
    la = origin.organisation_la
    if la and origin.organisation_kind in ("local_authority", "school"):
        return la
    for row in rows:
        found = la_for_postcode(row.address.postcode if row.address else None)
        if found:
            return found
    return current or la or UNASSIGNED_LA


class Worker:
    """``keys`` need only the blind indexes' keys (``index_key``): a worker never sees the key ring's KEKs."""

    def __init__(self, keys: Any, origin: Origin) -> None:
        self.keys = keys
        self.origin = origin
        self.held: dict[int, list[Held]] = {}

    def open_more(self, jobs: Sequence[OpenJob]) -> dict[int, list[tuple[str, tuple]]]:
        """``open(jobs, more=True)``, by the name a helper process is asked for it."""
        return self.open(jobs, more=True)

    def open(self, jobs: Sequence[OpenJob], *, more: bool = False) -> dict[int, list[tuple[str, tuple]]]:
        """Each child's records decrypted (and kept for ``views``, in place of what a batch before kept unless
        ``more``: a batch's second look) and profiled: {child ID: [(record key, profile row)]}."""
        if not more:
            self.held = {}
        out = {}
        for job in jobs:
            held = self.held[job.child_id] = _opened(ChildCipher(job.cpid, job.data_key), job.records)
            out[job.child_id] = [(h.record_key, profile_row(h.record_key, h.source_kind, h.row)) for h in held]
        return out

    def views(self, jobs: Sequence[ViewJob]) -> list[View | None]:
        """Each child's best view, sealed; None for a child nothing is held about any more."""
        out: list[View | None] = []
        for job in jobs:
            cipher = ChildCipher(job.cpid, job.data_key)
            held = (self.held.pop(job.child_id, []) if job.records is None else _opened(cipher, job.records))
            held += self._new(job.added or ())
            if not held:
                out.append(None)  # nothing left: the lifecycle or a split deals with an empty record
                continue
            view = build(held, job.manual or (), cpid=job.cpid, amendments=job.amendments or ())
            ours = [h.row for h in held if h.source == self.origin.source]
            out.append(View(seal(self.keys, cipher, view.record, shielded=job.shielded, indexed=job.live),
                            FoundBy.of(view.record), view.discrepancies,
                            responsible_la(self.origin, ours, current=job.responsible_la), view.retired))
        return out

    def create(self, jobs: Sequence[NewJob]) -> list[View]:
        """Each new child's best view from its records, sealed under the identity it was given."""
        out = []
        for job in jobs:
            held = self._new(job.rows)
            view = build(held)
            out.append(View(seal(self.keys, ChildCipher(job.cpid, job.data_key), view.record, shielded=False),
                            FoundBy.of(view.record), view.discrepancies,
                            responsible_la(self.origin, [h.row for h in held])))
        return out

    def load(self, jobs: Sequence[LoadJob]) -> list[tuple[View, list[bytes]]]:
        """Each new child of a first load: its best view from the records of every source, sealed, and each of its
        records sealed for storing. The responsible local authority is worked out source by source in load
        order, as the feeds one after another would leave it (``views``)."""
        out = []
        for job in jobs:
            cipher = ChildCipher(job.cpid, job.data_key)
            held = [Held(o.source, o.kind, o.run, o.received, key, source_records.loads(payload))
                    for o, key, payload in job.rows]
            view = build(held)
            la: str | None = None
            for origin in dict.fromkeys(o for o, _, _ in job.rows):
                found = responsible_la(origin, [h.row for (o, _, _), h in zip(job.rows, held, strict=True)
                                                if o == origin], current=la)
                la = found if found != UNASSIGNED_LA else la
            out.append((View(seal(self.keys, cipher, view.record, shielded=False), FoundBy.of(view.record),
                             view.discrepancies, la or UNASSIGNED_LA),
                        [source_records.seal_record(cipher, key, payload) for _, key, payload in job.rows]))
        return out

    def load_later(self, jobs: Sequence[LoadJob]) -> Callable[[], list[tuple[View, list[bytes]]]]:
        """As ``processes.Workers.load_later``; in this process the work is done when the answers are asked for."""
        return lambda: self.load(jobs)

    def close(self) -> None:
        """Nothing to stop: a worker in this process (``processes.Workers`` has processes to stop)."""

    def _new(self, rows: Iterable[tuple[str, bytes]]) -> list[Held]:
        o = self.origin
        return [Held(o.source, o.kind, o.run, o.received, key, source_records.loads(payload)) for key, payload in rows]


def _opened(cipher: ChildCipher, records: Iterable[Stored]) -> list[Held]:
    return [Held(source, kind, run, received, key,
                 source_records.loads(source_records.open_record(cipher, key, sealed)))
            for source, kind, run, received, key, sealed in records]


class IndexKeys:
    """The keys of the keyed hashes a worker computes (blind-index tokens): all it needs of the key ring."""

    NAMES = (*(i.name for i in bi.CATALOGUE), "source-record", "source-record-content")

    def __init__(self, keys: dict[str, bytes]) -> None:
        self._keys = keys

    @classmethod
    def of(cls, keyring: Any) -> IndexKeys:
        return cls({name: keyring.index_key(name) for name in cls.NAMES})

    def index_key(self, index_name: str) -> bytes:
        return self._keys[index_name]


__all__ = ["UNASSIGNED_LA", "FoundBy", "IndexKeys", "LoadJob", "NewJob", "OpenJob", "Origin", "Stored", "View",
           "ViewJob", "Worker", "responsible_la"]
