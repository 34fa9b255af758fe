"""One batch of a feed through the data flow: match -> best view -> vault + children, in one transaction.

    accepted rows ──► unchanged? skip ──► changed? update its record ──┐
                 └──► new: candidates from the blind index ─► Splink ─► link / new child / review
                                                                        ▼
                                        best view of every child touched ─► store (sealed) ─► discrepancies

Records of a batch are matched against the index as it stands (earlier batches included) and against each
other, so a first national load deduplicates everything and a delta links to what is there.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from itertools import islice
from typing import Any

from django.db import DatabaseError, connection, transaction
from django.db.models import Q

from contactpoint import bulk
from contactpoint.access.models import SourceSystem
from contactpoint.access.sources import source_actor
from contactpoint.audit.actions import AuditAction
from contactpoint.audit.trail import record_event
from contactpoint.bestview.build import Amendment, Manual
from contactpoint.bestview.discrepancies import sync_discrepancies, sync_invalid
from contactpoint.children import source_records
from contactpoint.children.models import Child, ChildStatus, HeldRecord
from contactpoint.children.record import decode_groups
from contactpoint.children.sealing import Identity, Sealed
from contactpoint.children.store import create_sealed, write_sealed
from contactpoint.errors import ContactPointError
from contactpoint.ingest import held
from contactpoint.ingest.prepare import IDENTIFIER_FIELD, IDENTIFIER_FIELDS, Entry, lacks
from contactpoint.ingest.processes import Workers
from contactpoint.ingest.work import (
    UNASSIGNED_LA,
    FoundBy,
    NewJob,
    OpenJob,
    Origin,
    Stored,
    View,
    ViewJob,
    Worker,
    responsible_la,
)
from contactpoint.lifecycle import notices
from contactpoint.lifecycle.moves import Moved, feed_moves
from contactpoint.matching import merging
from contactpoint.matching.cluster import LINKS_TWO, Edge, Outcome, decide
from contactpoint.matching.engine import Backend, score
from contactpoint.matching.frequencies import Frequencies
from contactpoint.matching.model import uses_frequencies
from contactpoint.matching.models import Merge, ReviewDecision, ReviewItem
from contactpoint.matching.profile import COLUMNS as PROFILE_COLUMNS
from contactpoint.matching.profile import Profiles
from contactpoint.records.amendments import children_with_amendments, in_force, retire
from contactpoint.records.involvements import manual_entries
from contactpoint.vault import blindindex as bi
from contactpoint.vault.cipher import ChildCipher, unwrap_data_key
from contactpoint.vault.keyring import KeyRing

# A changed row that lacks one of these keeps what its record held before: one bad value costs that value, and
# the child's record must keep a date of birth and a name.
_KEPT_WHEN_MISSING = ("date_of_birth", "given_name", "family_name")


logger = logging.getLogger(__name__)

# Who made a merge the pipeline made itself (``Merge.merged_by``, ``ReviewItem.decided_by``): never a user name.
PIPELINE = "ContactPoint matching (automatic)"
POSTCODE = PROFILE_COLUMNS.index("postcode")  # in a profile row (matching.profile.COLUMNS)


@dataclass(frozen=True, slots=True)
class Merged:
    survivor: str  # ContactPoint IDs
    absorbed: str
    merge: int
    item: int


@dataclass
class BatchResult:
    accepted: int = 0
    unchanged: int = 0
    created: list[str] = field(default_factory=list)  # ContactPoint IDs
    updated: list[str] = field(default_factory=list)
    linked: int = 0
    reviews: int = 0
    held: int = 0  # rows linked to no child and too thin to make one (``ingest.held``), new or changed
    released: int = 0  # rows held before and taken in now
    merged: list[Merged] = field(default_factory=list)  # children merged because a new record links both

    def add(self, other: BatchResult) -> None:
        """Count in what a batch of held rows, tried again, did."""
        self.created += other.created
        self.updated += other.updated
        self.linked += other.linked
        self.reviews += other.reviews
        self.held += other.held
        self.released += other.released
        self.merged += other.merged


def _there_for_a_reason(tokens: dict[int, set], found: Sequence[int], seen: FoundBy) -> bool | None:
    """Whether a child whose tokens ``found`` are among ``tokens`` holds what one of them stands for; None when
    that depends on identifiers or a postcode not yet opened. (A date-keyed token stands for dates of birth, a
    year-keyed one for ("birth_year", year), an identifier's or a postcode's token for (field, value) pairs: none
    is among another's.)"""
    dob = seen.date_of_birth
    if any(dob in tokens[t] for t in found):
        return True
    if dob is not None and any(("birth_year", dob.year) in tokens[t] for t in found if bi.keyed_by_year(t)):
        return True
    identifier_tokens = [t for t in found if not (bi.keyed_by_dob(t) or bi.keyed_by_year(t))]
    if not identifier_tokens:
        return False
    if seen.identifiers is None:
        return None
    return any(not seen.identifiers.isdisjoint(tokens[t]) for t in identifier_tokens)


@dataclass(frozen=True, slots=True)
class ChildRow:
    """A child's row without its sealed groups, as a batch uses it. Read with plain SQL: making Django models
    of the tens of thousands of children a batch touches (signals, field conversions) cost more than the query
    at a million records."""

    id: int
    cpid: str
    status: str
    shielded: bool
    responsible_la: str
    review_month: date
    version: int

    @property
    def pk(self) -> int:
        return self.id


_CHILD_ROW = "c.id, c.cpid, c.status, c.shielded, c.responsible_la, c.review_month, c.version"


def _date(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)  # SQLite's raw rows carry text


def _child_row(values: Sequence[Any]) -> ChildRow:
    child_id, cpid, status, shielded, la, review_month, version = values
    return ChildRow(child_id, cpid, status, bool(shielded), la, _date(review_month), version)


def child_rows(ids: Sequence[int]) -> list[ChildRow]:
    return [_child_row(r) for r in bulk.select_any(f"SELECT {_CHILD_ROW} FROM children_child c WHERE c.id {{any}}",
                                                   ids)]


# The most children a run keeps what it opened about (their data keys, and the date of birth and identifiers
# ``_candidates`` decrypted): before each pass of a batch, once either cache passes it, the children first opened
# longest ago are forgotten down to half of it, so that the caches do not grow with the file or the index (a
# national GP file of 10.7 million rows would otherwise keep gigabytes). The same bucket-mates come back batch after
# batch, so the latest batches' children are the ones worth keeping. Small enough to be reached by a 100,000-row
# feed, so that the caches hold as much at a hundred thousand rows as at ten million (docs/benchmarks.md).
CACHED_CHILDREN = 40_000

# The most candidate children one pass of a batch opens. The denser the index, the more children a row's lookup
# finds (bucket-mates born the same day with a name of the same sound: 1.1 a row at 100,000 records, 3.0 at a
# million, more at 11 million), and what a pass holds (the candidates opened, profiled, scored, and sent to the
# workers) grows with them. So a batch whose rows found more than this, a row at a time, is worked in passes of
# fewer rows, in the same transaction: the same as smaller batches, with memory that grows far less with the index
# (docs/benchmarks.md: 1.15 GiB at 100,000 records, 1.46 GiB at a million, where whole batches took 2.02).
CANDIDATES_PER_PASS = 12_000
SMALLEST_PASS, FIRST_PASS = 500, 1000


def forget_oldest(cache: dict, keep: int) -> None:
    """Drop all but the ``keep`` entries added last (a dict keeps the order they were added in)."""
    for key in list(islice(cache, max(0, len(cache) - keep))):
        del cache[key]


class _Keys:
    """Children's data keys, opened once per run (a feed touches the same children batch after batch): a cipher
    for sealing records here, the key itself for a worker (``work.Worker``). At most about ``CACHED_CHILDREN``
    (``forget``)."""

    def __init__(self, keyring: KeyRing) -> None:
        self.keyring = keyring
        self._by_child: dict[int, tuple[ChildCipher, bytes]] = {}

    def add(self, child_id: int, cpid: str, data_key: bytes) -> None:
        self._by_child[child_id] = (ChildCipher(cpid, data_key), data_key)

    def prefetch(self, children: Iterable[ChildRow]) -> None:
        missing = {c.pk: c.cpid for c in children if c.pk not in self._by_child}
        for child_id, kek_id, wrapped in bulk.select_any(
                "SELECT child_id, kek_id, wrapped FROM vault_data_key WHERE child_id {any}", list(missing)):
            self.add(child_id, missing[child_id], unwrap_data_key(self.keyring, missing[child_id], kek_id, wrapped))

    def forget(self, keep: int = 0) -> None:
        forget_oldest(self._by_child, keep)

    def __len__(self) -> int:
        return len(self._by_child)

    def cipher(self, child: ChildRow) -> ChildCipher:
        self.prefetch([child])
        return self._by_child[child.pk][0]

    def key(self, child: ChildRow) -> bytes:
        self.prefetch([child])
        return self._by_child[child.pk][1]


class Batch:
    """Everything one batch needs: its source, key ring, clock, matching engine and workers (``helpers``)."""

    def __init__(self, source: SourceSystem, *, keyring: KeyRing, now: datetime, run_id: str,
                 engine: Backend | None = None, workers: Worker | Workers | None = None,
                 retry_held: bool = True) -> None:
        self.source = source
        self.keyring = keyring
        self.now = now
        self.today = now.date()
        self.received = connection.ops.adapt_datefield_value(self.today)  # as bulk writes take it
        self.run_id = run_id
        self.engine = engine
        self.origin = origin_of(source, run_id, self.today)
        self.workers = workers or Worker(keyring, self.origin)
        self.keys = _Keys(keyring)
        # National, counted by ``match frequencies``; None if never counted, or the model does better without.
        self.frequencies = Frequencies.load(keyring) if uses_frequencies() else None
        self._opened: dict[int, tuple[int, FoundBy]] = {}  # child ID -> (version, what _candidates opened)
        self.retry_held = retry_held
        self.candidates_per_row: float | None = None  # as the last pass found them (``CANDIDATES_PER_PASS``)

    def _stored(self, children: Iterable[ChildRow]) -> dict[int, list[Stored]]:
        """Each child's active source records, as stored (sealed): in one query, not one per child."""
        out: dict[int, list[Stored]] = defaultdict(list)
        for child_id, *record in bulk.select_any(
                "SELECT child_id, source, source_kind, feed_run, received, record_key, payload "
                "FROM children_source_record WHERE active AND child_id {any} ORDER BY id", [c.pk for c in children]):
            record[3] = _date(record[3])
            out[child_id].append(tuple(record))
        return out

    def _manual(self, children: Sequence[ChildRow]) -> dict[int, list[Manual]]:
        """Practitioners' own entries about each child that has any (few do)."""

        ids = {child_id for (child_id,) in bulk.select_any(
            "SELECT DISTINCT child_id FROM records_practitioner_involvement WHERE child_id {any}",
            [c.pk for c in children])}
        return {c.pk: manual_entries(c, self.keys.cipher(c)) for c in children if c.pk in ids}

    def _amendments(self, children: Sequence[ChildRow]) -> dict[int, list[Amendment]]:
        """The local authority's amendments in force on each child that has any (few do)."""
        ids = children_with_amendments([c.pk for c in children])
        return {c.pk: in_force(c.pk, self.keys.cipher(c)) for c in children if c.pk in ids}

    # -- the batch ---------------------------------------------------------------------------------------------

    def process(self, entries: Sequence[Entry]) -> BatchResult:
        """Take a batch's entries, in passes of as many rows as find about ``CANDIDATES_PER_PASS`` children (the
        first pass of a run, before anything is known of the index's density, ``FIRST_PASS`` rows)."""
        result, start = BatchResult(), 0
        while True:
            left = len(entries) - start
            if self.candidates_per_row is None:
                size = min(left, FIRST_PASS)
            elif left * self.candidates_per_row > CANDIDATES_PER_PASS:
                size = max(SMALLEST_PASS, int(CANDIDATES_PER_PASS / self.candidates_per_row))
            else:
                size = left
            done = self._pass(entries[start:start + size])
            if self.candidates_per_row is None:  # nothing new to look up: no measure yet, and none needed
                self.candidates_per_row = 0.0
            result.accepted += done.accepted
            result.unchanged += done.unchanged
            result.add(done)
            start += size
            if start >= len(entries):
                return result

    def _pass(self, entries: Sequence[Entry]) -> BatchResult:
        if len(self._opened) > CACHED_CHILDREN or len(self.keys) > CACHED_CHILDREN:  # bounded, between passes
            forget_oldest(self._opened, CACHED_CHILDREN // 2)
            self.keys.forget(CACHED_CHILDREN // 2)
        result = BatchResult(accepted=len(entries))
        keys = {e.key: e for e in entries}
        # Neither the children's sealed groups nor unchanged records' payloads are read here: leave them behind.
        existing: dict[str, tuple[int, str, bool, ChildRow]] = {}
        for record_id, key, content_hash, active, *child_values in bulk.select_any(
                f"SELECT r.id, r.record_key, r.content_hash, r.active, {_CHILD_ROW} FROM children_source_record r "
                "JOIN children_child c ON c.id = r.child_id WHERE r.source = %s AND r.record_key {any}",
                list(keys), [self.source.code]):
            existing[key] = (record_id, content_hash, bool(active), _child_row(child_values))
        dirty: dict[int, ChildRow] = {}
        changed = []
        self.keys.prefetch(child for *_, child in existing.values())  # one query for the batch, not one a child
        flags: dict[int, tuple[int, str, frozenset[tuple[str, str]]]] = {}  # record ID -> (child, source, flags)
        for key, (record_id, content_hash, active, child) in existing.items():
            entry = keys[key]
            if content_hash == entry.content_hash and active:
                result.unchanged += 1
                continue
            if any(f in _KEPT_WHEN_MISSING for f, _ in entry.flags):
                entry = keys[key] = self._keep_what_was_held(entry, record_id, child)
            changed.append((record_id, source_records.seal_record(self.keys.cipher(child), key, entry.payload),
                            entry.content_hash, self.run_id, self.received, True))
            flags[record_id] = (child.pk, self.source.code, frozenset(entry.flags))
            dirty[child.pk] = child
        bulk.update("children_source_record", "id", ["payload", "content_hash", "feed_run", "received", "active"],
                    changed)
        new = {k: e for k, e in keys.items() if k not in existing}
        opened: set[int] = set()
        added: dict[int, list[tuple[str, bytes]]] = defaultdict(list)
        placed: list[Entry] = []
        to_merge: list[ReviewItem] = []
        if new:
            opened, placed, to_merge = self._match_and_place(new, dirty, added, result)
        self.refresh(list(dirty.values()), result, opened=opened, added=added)
        flags.update(self._flags_of(placed))
        sync_invalid(flags, now=self.now)
        self._merge_linked(to_merge, result)
        if self.retry_held and placed:
            self._retry_held(placed, result)
        return result

    def _keep_what_was_held(self, entry: Entry, record_id: int, child: ChildRow) -> Entry:
        """The changed row with the date of birth or name it lacks taken from its record as stored."""
        [(sealed,)] = bulk.select_any("SELECT payload FROM children_source_record WHERE id {any}", [record_id])
        before = source_records.loads(source_records.open_record(self.keys.cipher(child), entry.key, bytes(sealed)))
        row = entry.full_row()
        name = row.name
        kept = replace(row, date_of_birth=row.date_of_birth or before.date_of_birth,
                       name=replace(name, given=name.given or before.name.given,
                                    family=name.family or before.name.family))
        return replace(entry, row=kept, payload=source_records.dumps(kept), tokens=None, profile=None,
                       lacks=lacks(kept))

    def _flags_of(self, placed: Sequence[Entry]) -> dict[int, tuple[int, str, frozenset[tuple[str, str]]]]:
        """The wrong-or-missing-value flags of the new records just placed, by their record IDs."""
        flagged = {e.key: e for e in placed if e.flags}
        if not flagged:
            return {}
        return {record_id: (child_id, self.source.code, frozenset(flagged[key].flags))
                for record_id, key, child_id in bulk.select_any(
                    "SELECT id, record_key, child_id FROM children_source_record WHERE source = %s "
                    "AND record_key {any}", list(flagged), [self.source.code])}

    def _retry_held(self, placed: Sequence[Entry], result: BatchResult) -> None:
        """Try again, at once, the rows held (from any source) that share an identifier, or a name at a postcode,
        with a record just taken in: the child they lacked may be here now."""
        if not HeldRecord.objects.exists():  # the usual case: nothing is held
            return
        tokens = [t for e in placed for t in e.lookup(self.keyring)
                  if bi.index_number(t) in IDENTIFIER_FIELD or bi.keyed_by_postcode(t)]
        waiting = held.waiting_for(tokens, besides=[(self.source.code, e.key) for e in placed])
        by_source: dict[str, list[HeldRecord]] = defaultdict(list)
        for record in waiting:
            by_source[record.source].append(record)
        for code, records in sorted(by_source.items()):
            source = SourceSystem.objects.select_related("organisation").filter(code=code).first()
            if source is None:
                continue
            again = Batch(source, keyring=self.keyring, now=self.now, run_id=records[0].feed_run,
                          engine=self.engine, retry_held=False)
            entries = []
            for record in records:
                row = held.open_held(self.keyring, record)
                entries.append(Entry(row, record.record_key, record.content_hash, source_records.dumps(row),
                                     flags=tuple((f, r) for f, r in record.flags), line=row.line, lacks=lacks(row)))
            result.add(again.process(entries))

    def _match_and_place(self, new: dict[str, Entry], dirty: dict[int, ChildRow],
                         added: dict[int, list[tuple[str, bytes]]],
                         result: BatchResult) -> tuple[set[int], list[Entry], list[ReviewItem]]:
        """Match the new records, create children and link records (a linked record goes into ``added`` for its
        child's best view); hold those that link to no child and are too thin to make one. Returns the children
        whose records the workers opened (and keep for ``refresh``), the records placed with a child, and the
        pairs of existing children to merge once the batch's best views are written."""
        kind = self.source.kind
        to_hold = self._new_identity_rows(new)
        if not new:
            changed, same = held.hold(to_hold, source=self.source.code, source_kind=kind, run_id=self.run_id,
                                      received=self.today, keyring=self.keyring)
            result.held, result.unchanged = result.held + changed, result.unchanged + same
            return set(), [], []
        outcome, children, existing, _ = self._match(new)

        # New children: one per group of new records that linked to no child in the index.
        groups: dict[str, list[str]] = defaultdict(list)
        for uid, child_id in outcome.child_of.items():
            if child_id is None:
                groups[outcome.group_of[uid]].append(uid)
        for group, uids in list(groups.items()):
            lacking = held.thin(new[uid].lacks for uid in uids)
            if lacking:
                del groups[group]
                rows = [new[uid].full_row() for uid in uids]
                la = responsible_la(self.origin, rows)
                to_hold += [held.ToHold(row, uid, new[uid].content_hash, new[uid].payload, new[uid].flags,
                                        f"linked to no child, and with {lacking} a new child cannot be made", la)
                            for uid, row in zip(uids, rows, strict=True)]
        changed, same = held.hold(to_hold, source=self.source.code, source_kind=kind, run_id=self.run_id,
                                  received=self.today, keyring=self.keyring)
        result.held += changed
        result.unchanged += same  # held already, as it is: tried again, and nothing changed
        jobs = [[(uid, new[uid].payload) for uid in uids] for uids in groups.values()]
        views: list[View] = []

        def prepare(identities: list[Identity]) -> list[tuple[Sealed, str, bool]]:
            views[:] = self.workers.create([NewJob(i.cpid, i.data_key, rows) for i, rows in zip(
                identities, jobs, strict=True)])
            return [(v.sealed, v.responsible_la, False) for v in views]

        created = create_sealed(self.keyring, len(jobs), prepare, now=self.now) if jobs else []
        child_of_record: dict[str, int] = dict(existing)
        inserts = []
        for uids, made, view in zip(groups.values(), created, views, strict=True):
            self.keys.add(made.id, made.cpid, made.data_key)
            self._opened[made.id] = (1, view.found)
            for uid in uids:
                child_of_record[uid] = made.id
                inserts.append((made.id, uid, source_records.seal_record(made.cipher, uid, new[uid].payload)))
            result.created.append(made.cpid)
        for uid, child_id in outcome.child_of.items():
            if child_id is not None:
                child_of_record[uid] = child_id
                child = children[child_id]
                inserts.append((child_id, uid,
                                source_records.seal_record(self.keys.cipher(child), uid, new[uid].payload)))
                added[child_id].append((uid, new[uid].payload))  # last, as a fresh read would list it (by ID)
                dirty[child_id] = child
                result.linked += 1
        bulk.insert("children_source_record", ("child_id", "source", "source_kind", "record_key", "content_hash",
                                               "feed_run", "received", "active", "payload"),
                    ((child_id, self.source.code, kind, uid, new[uid].content_hash, self.run_id, self.received, True,
                      payload) for child_id, uid, payload in inserts))
        if created:  # a new child's discrepancies point at its source records, which have IDs only now
            sync_discrepancies({made.id: view.discrepancies for made, view in zip(created, views, strict=True)},
                               now=self.now, new_children=True)
        to_merge = self._queue_reviews(outcome.reviews, child_of_record, children, result)
        placed = [new[uid] for uid in child_of_record if uid in new]
        result.released += held.release(self.source.code, [e.key for e in placed])
        return set(children), placed, to_merge

    def _match(self, new: dict[str, Entry]) -> tuple[Outcome, dict[int, ChildRow], dict[str, int], list[Edge]]:
        """Match the new records against the index and each other: where each goes (``decide``), the candidate
        children, which child each of their records belongs to, and the scored pairs."""
        profiles = {k: e.match_profile(self.source.kind) for k, e in new.items()}
        existing: dict[str, int] = {}
        children = {child.pk: child for child in self._candidates(self._tokens(new.values(), second_look=False))}
        self.candidates_per_row = len(children) / len(new)
        self._open(children, profiles, existing, more=False)
        edges = score(list(profiles.values()), new, engine=self.engine, frequencies=self.frequencies)
        outcome = decide(list(new), existing, Profiles(profiles), edges)
        # A second look for the records that found no child: either name at their postcode. Only for those, as
        # these buckets hold about 29 unrelated children a token at 11 million (vault.blindindex, index 12),
        # each opened to be told apart, where the records that found their child (most) need none of them.
        # And for a record that found a child holding none of its postcode (a move, or the postcode mistyped):
        # another child may be at its new address, one the first look cannot find. Unlooked, that child stayed
        # apart with nothing to say so (a child benefit record, its date of birth mistyped, made a second Maisie
        # Wood at her new address; the school's record, found at the GP's child by its date of birth, never met
        # it), where a first load, comparing every record, joined the three.
        homes: dict[int, set[str]] = defaultdict(set)
        for uid, child_id in existing.items():
            homes[child_id].add(profiles[uid][POSTCODE])
        look = [uid for uid, child_id in outcome.child_of.items()
                if child_id is None or (profiles[uid][POSTCODE] and profiles[uid][POSTCODE] not in homes[child_id])]
        more = {child.pk: child for child in self._candidates(self._tokens(
            (new[uid] for uid in look), second_look=True)) if child.pk not in children} if look else {}
        if more:
            before = set(profiles)
            self._open(more, profiles, existing, more=True)
            children |= more
            found = [profiles[uid] for uid in look] + [p for uid, p in profiles.items() if uid not in before]
            # Pairs of two records that looked again were scored on the first look: each pair goes in once.
            edges += [e for e in score(found, look, engine=self.engine, frequencies=self.frequencies)
                      if e.left not in before or e.right not in before]
            outcome = decide(list(new), existing, Profiles(profiles), edges)
        return outcome, children, existing, edges

    def possible_matches(self, entry: Entry) -> tuple[list[tuple[int, Edge]], list[held.ToHold]]:
        """For one record made by hand (``ingest.manual``): the live children it links or would be queued
        against, each with its closest scored pair, best first, as the feeds would match it; or, if it carries an
        identifier of a record sealed for a new identity, that row to hold (and no matching at all)."""
        new = {entry.key: entry}
        guarded = self._new_identity_rows(new)
        if guarded:
            return [], guarded
        outcome, _, existing, edges = self._match(new)
        matched = {outcome.child_of[entry.key]} - {None}
        matched |= {existing[r] for review in outcome.reviews for r in (review.record_a, review.record_b)
                    if r in existing}
        best: dict[int, Edge] = {}
        for edge in edges:
            other = edge.right if edge.left == entry.key else edge.left if edge.right == entry.key else None
            child_id = existing.get(other) if other is not None else None
            if child_id is not None and child_id in matched and (
                    child_id not in best or best[child_id].probability < edge.probability):
                best[child_id] = edge
        return sorted(best.items(), key=lambda pair: -pair[1].probability), []

    def _new_identity_rows(self, new: dict[str, Entry]) -> list[held.ToHold]:
        """Take out of ``new`` the rows that bring back a record sealed when its child was given a new identity
        (one of its identifiers, or its name and date of birth: ``notices.new_identity_matches``): matched, they
        would make the old identity visible again (a new child, or details on one). They are held for the data
        managers of the authority that made the new identity, who decide; the held row says only why, never which
        record it met. Audited, as counts, for that authority."""
        guarded = notices.new_identity_matches(
            self.keyring, {k: notices.guard_lookup_tokens(e.lookup(self.keyring)) for k, e in new.items()},
            lambda k: new[k].full_row())
        if not guarded:
            return []
        counts: dict[tuple[str, str], int] = defaultdict(int)
        for la, how in guarded.values():
            counts[(la, how.value)] += 1
        for (la, by), rows in sorted(counts.items()):
            record_event(AuditAction.HELD_NEW_IDENTITY, actor=source_actor(self.source), keyring=self.keyring,
                         at=self.now, context={"la": la, "recognised_by": by, "rows": rows, "run": self.run_id})
        return [held.ToHold(e.full_row(), uid, e.content_hash, e.payload, e.flags,
                            held.NEW_IDENTITY if how == notices.Recognised.IDENTIFIER else held.NEW_IDENTITY_DETAILS,
                            la)
                for uid, (la, how) in guarded.items() for e in [new.pop(uid)]]

    def _tokens(self, entries: Iterable[Entry], *, second_look: bool) -> dict[int, set]:
        """The tokens the entries look up, with what each stands for: those keyed by a postcode alone on the
        second look, every other on the first."""
        tokens: dict[int, set] = defaultdict(set)
        for e in entries:
            for token, meaning in e.lookup(self.keyring).items():
                if bi.keyed_by_postcode(token) == second_look:
                    tokens[token] |= meaning
        return tokens

    def _open(self, children: dict[int, ChildRow], profiles: dict[str, tuple], existing: dict[str, int], *,
              more: bool) -> None:
        """Have the workers open the children's source records (``more``: besides those the batch opened
        already); add their profiles, and which child each record belongs to."""
        stored = self._stored(children.values())
        self.keys.prefetch(children.values())
        for opened_id, found in self.workers.open([OpenJob(c.pk, c.cpid, self.keys.key(c), stored.get(c.pk, []))
                                                   for c in children.values()], more=more).items():
            for record_key, record_profile in found:
                profiles[record_key] = record_profile
                existing[record_key] = opened_id

    def _candidates(self, tokens: dict[int, set]) -> list[ChildRow]:
        """The live children the rows' tokens find, without those that share a bucket only by chance (tokens are
        truncated: see ``vault.tokens.in_buckets``, whose lookup this is, with each child's version). A child is
        kept if it was born on a date its date-keyed tokens stand for, or holds an identifier one of its identifier
        tokens stands for: its date of birth and identifiers alone are decrypted to tell, before its source records
        are.

        At a million children most of those found are such bucket-mates, and the same ones come back batch after
        batch (a bucket's members do not change with the rows looking it up). So what was opened once in a run
        is kept with the child's version, and opened again only when the child has been written since."""
        # child ID -> [its version, then each of its tokens that is among ``tokens``]. One row per token found, so
        # hundreds of thousands a batch at a million children: kept to one dictionary look-up each.
        found: dict[int, list[int]] = {}
        for token, child_id, version in bulk.select_any(
                "SELECT i.token, i.child_id, c.version FROM vault_index i JOIN children_child c ON c.id = i.child_id "
                "WHERE c.status = %s AND i.token {any}", list(tokens), [ChildStatus.LIVE.value]):
            member = found.get(child_id)
            if member is None:
                found[child_id] = [version, token]
            else:
                member.append(token)
        kept, unopened = [], []
        for child_id, (version, *its_tokens) in found.items():
            known = self._opened.get(child_id)
            reason = None if known is None or known[0] != version else _there_for_a_reason(
                tokens, its_tokens, known[1])
            if reason is None:
                unopened.append(child_id)
            elif reason:
                kept.append(child_id)
        for child_id, cpid, version, birth, identifiers, whereabouts, kek_id, wrapped in bulk.select_any(
                "SELECT c.id, c.cpid, c.version, c.birth, c.identifiers, c.whereabouts, k.kek_id, k.wrapped "
                "FROM children_child c JOIN vault_data_key k ON k.child_id = c.id WHERE c.id {any}", unopened):
            data_key = unwrap_data_key(self.keyring, cpid, kek_id, wrapped)
            cipher = ChildCipher(cpid, data_key)
            seen = FoundBy(decode_groups(cpid, {"birth": cipher.open("birth", bytes(birth))})["date_of_birth"].value)
            reason = _there_for_a_reason(tokens, found[child_id][1:], seen)
            if reason is None:  # found by an identifier's or a postcode's token, born on another day: which?
                held = decode_groups(cpid, {"identifiers": cipher.open("identifiers", bytes(identifiers)),
                                            "whereabouts": cipher.open("whereabouts", bytes(whereabouts))})
                values = {(f, held[f].value) for f in IDENTIFIER_FIELDS if held[f] is not None}
                place = held["whereabouts"]
                if place is not None and place.value.address is not None and place.value.address.postcode:
                    values.add(("postcode", place.value.address.postcode))
                values |= {("postcode", other) for other in held["other_postcodes"]}  # a source's old address
                seen = FoundBy(seen.date_of_birth, frozenset(values))
                reason = _there_for_a_reason(tokens, found[child_id][1:], seen)
            self._opened[child_id] = (version, seen)
            if reason:
                kept.append(child_id)
                self.keys.add(child_id, cpid, data_key)
        return child_rows(kept)

    def _queue_reviews(self, reviews, child_of_record: dict[str, int], children: dict[int, ChildRow],
                       result: BatchResult) -> list[ReviewItem]:
        """Queue the pairs of children the batch doubts, and return, decided already, those of two existing
        children a new record links that ``_merge_linked`` may merge itself (``_untouched``)."""
        pairs = []
        for review in reviews:
            a, b = child_of_record.get(review.record_a), child_of_record.get(review.record_b)
            if a is not None and b is not None and a != b:
                pairs.append((review, a, b))
        if not pairs:
            return []
        involved = list({c for _, a, b in pairs for c in (a, b)})
        # A pair already open, deferred or kept apart by a data manager is not asked about again.
        asked: set[frozenset[int]] = set()
        waiting: dict[frozenset[int], ReviewItem] = {}  # those open: no one has decided them
        for q in bulk.any_of("child_a_id", involved):
            for item in ReviewItem.objects.filter(q, status__in=(
                    ReviewItem.Status.OPEN, ReviewItem.Status.DEFERRED, ReviewItem.Status.KEPT_APART)):
                asked.add(frozenset((item.child_a_id, item.child_b_id)))
                if item.status == ReviewItem.Status.OPEN:
                    waiting[frozenset((item.child_a_id, item.child_b_id))] = item
        untouched = self._untouched({c for review, a, b in pairs if review.why == LINKS_TWO for c in (a, b)},
                                    children)
        las: dict[int, str] = {}  # of the first child of each pair, whose local authority the item goes to
        for q in bulk.any_of("id", sorted({a for _, a, _ in pairs})):
            las.update(Child.objects.filter(q).values_list("id", "responsible_la"))
        items, to_merge = [], []
        for review, a, b in pairs:
            pair = frozenset((a, b))
            if pair in asked:
                # Open, and now a new record links the two as surely as one that would be merged: the answer the
                # item waited for (Gillian's child benefit record, her old surname at her house, doubted against
                # the GP's; then the school's record, both names, her house). A first load, seeing all three at
                # once, makes them one child; so do the feeds now, however the records come.
                if review.why == LINKS_TWO and pair in waiting and a in untouched and b in untouched:
                    item = waiting.pop(pair)
                    item.status, item.decided_at, item.decided_by = ReviewItem.Status.LINKED, self.now, PIPELINE
                    item.save(update_fields=["status", "decided_at", "decided_by"])
                    to_merge.append(item)
                continue
            asked.add(pair)
            item = ReviewItem(child_a_id=a, child_b_id=b, record_a=review.record_a, record_b=review.record_b,
                              probability=review.probability, evidence=dict(review.evidence), why=review.why,
                              responsible_la=las.get(a, UNASSIGNED_LA), created_at=self.now)
            if review.why == LINKS_TWO and a in untouched and b in untouched:
                item.status, item.decided_at, item.decided_by = ReviewItem.Status.LINKED, self.now, PIPELINE
                to_merge.append(item)
            items.append(item)
        ReviewItem.objects.bulk_create(items)
        result.reviews += sum(item.status == ReviewItem.Status.OPEN for item in items)
        return to_merge

    @staticmethod
    def _untouched(ids: set[int], children: Mapping[int, ChildRow | Child]) -> set[int]:
        """Those of the children no person has acted on: not shielded, never linked, kept apart, deferred, split
        or merged by a person, nor merged by the pipeline and split again. Only two such children are merged
        without asking: anything a person decided about either is theirs to weigh again."""
        ids = {c for c in ids if not children[c].shielded}
        if not ids:
            return ids
        # Few children: those of the pairs a new record links (a few a batch), so plain IN lists.
        decided = ReviewItem.objects.filter(Q(child_a_id__in=ids) | Q(child_b_id__in=ids)).exclude(
            status=ReviewItem.Status.OPEN).exclude(decided_by=PIPELINE).values_list("child_a_id", "child_b_id")
        merged = Merge.objects.filter(Q(survivor_id__in=ids) | Q(absorbed_id__in=ids)).filter(
            ~Q(merged_by=PIPELINE) | Q(undone_at__isnull=False)).values_list("survivor_id", "absorbed_id")
        return ids - {c for pair in (*decided, *merged) for c in pair}

    def _merge_linked(self, items: Sequence[ReviewItem], result: BatchResult) -> None:
        """Merge each pair of children a new record linked, decided by ``_queue_reviews``: as a data manager's
        link from the review queue does (``matching.merging``: the older record survives, and the merge can be
        split from the review history), after the batch has written its best views. A child merged earlier in
        the batch is followed to the child it became (one new record linking A and B, another B and C: all three
        are one); a pair that is then one child needs nothing more, and one that is not two live, unshielded
        children goes back to the queue."""
        for item in items:
            try:
                # A savepoint each: one merge that fails (a record that cannot be opened, a deadlock with a data
                # manager's own merge) goes back to the queue instead of failing the batch, and with it the feed.
                with transaction.atomic():
                    merged = self._merge_one(item)
            except (ContactPointError, DatabaseError) as error:
                logger.warning("automatic merge for review item %s not made (%s): queued for a person",
                               item.pk, type(error).__name__)  # the type only: a message could quote a value
                merged = None
            if merged is None:
                ReviewItem.objects.filter(pk=item.pk).update(status=ReviewItem.Status.OPEN, decided_at=None,
                                                             decided_by="")
                result.reviews += 1
            elif isinstance(merged, Merged):
                result.merged.append(merged)

    def _merge_one(self, item: ReviewItem) -> Merged | bool | None:
        """Merge the pair: the merge made; True when the two are one child already; None when it is for a person
        after all (not two live, unshielded children, or a person acted on either since the batch looked)."""
        a, b = (merging.followed(pk, lock=True) for pk in (item.child_a_id, item.child_b_id))
        if a.pk == b.pk:
            return True  # one child already: the item stays as decided
        if a.status != ChildStatus.LIVE or b.status != ChildStatus.LIVE or a.shielded or b.shielded:
            return None
        if self._untouched({a.pk, b.pk}, {a.pk: a, b.pk: b}) != {a.pk, b.pk}:  # looked at again under the lock
            return None
        survivor, absorbed = merging.survivor_of(a, b)
        merge = merging.merge_children(survivor, absorbed, by=PIPELINE, item=item, keyring=self.keyring,
                                       now=self.now)
        ReviewDecision.objects.create(item=item, kind=ReviewDecision.Kind.LINK, decided_by=PIPELINE,
                                      organisation=self.source.code, decided_at=self.now, merge=merge)
        return Merged(survivor.cpid, absorbed.cpid, merge.pk, item.pk)

    def refresh(self, children: Sequence[ChildRow], result: BatchResult | None = None, *,
                opened: set[int] | frozenset[int] = frozenset(),
                added: dict[int, list[tuple[str, bytes]]] | None = None) -> None:
        """Rebuild and store the best view of each child (after any change to what is held about them). The
        records of the children in ``opened`` are those the workers opened for matching, with ``added``; the
        rest are read."""
        added = added or {}
        stored = self._stored([c for c in children if c.pk not in opened])
        self.keys.prefetch(children)
        manual = self._manual(children)
        amended = self._amendments(children)
        views = self.workers.views([ViewJob(
            c.pk, c.cpid, self.keys.key(c), c.status == ChildStatus.LIVE, c.shielded, c.responsible_la,
            records=None if c.pk in opened else stored.get(c.pk, []), added=added.get(c.pk),
            manual=manual.get(c.pk), amendments=amended.get(c.pk)) for c in children])
        items, discrepancies, moves, assigned = [], {}, [], []
        retired: set[str] = set()
        for child, view in zip(children, views, strict=True):
            if view is None:
                continue  # nothing left: the lifecycle or a split deals with an empty record
            items.append((child, view.sealed))
            self._opened[child.pk] = (child.version + 1, view.found)  # as write_sealed leaves it
            discrepancies[child.pk] = view.discrepancies
            retired |= view.retired
            moved = view.responsible_la not in (child.responsible_la, UNASSIGNED_LA)
            if moved and child.responsible_la == UNASSIGNED_LA:  # a first authority: assigned, not a move
                assigned.append((child.pk, view.responsible_la))
            elif moved:
                moves.append(Moved(child.pk, child.cpid, child.shielded, child.responsible_la, view.responsible_la,
                                   ChildCipher(child.cpid, self.keys.key(child)) if child.shielded else None))
            if result is not None:
                result.updated.append(child.cpid)
        if items:
            write_sealed(items, now=self.now)
            sync_discrepancies(discrepancies, now=self.now)
            retire(retired, keyring=self.keyring, now=self.now)
        # A shielded child's authority never follows a feed (its new area would show): lifecycle.moves reports it
        # to the keeping authority instead; every other change is a hand-over both authorities are told of.
        to = {m.child_id: m.to_la for m in moves}
        changed = feed_moves(moves, source=self.source.code, actor=source_actor(self.source), keyring=self.keyring,
                             now=self.now) if moves else []
        bulk.update("children_child", "id", ["responsible_la"], assigned + [(pk, to[pk]) for pk in changed])


def origin_of(source: SourceSystem, run_id: str, received: date) -> Origin:
    return Origin(source.code, source.kind, run_id, received, source.organisation.kind, source.organisation.la_code)


__all__ = ["PIPELINE", "UNASSIGNED_LA", "Batch", "BatchResult", "ChildRow", "Merged", "child_rows"]
