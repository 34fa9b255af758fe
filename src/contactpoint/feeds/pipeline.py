"""One batch of a feed through the data flow: match -> best view -> vault + children, in one transaction.

    accepted rows ──► unchanged? skip ──► changed? update its record ──┐
                 └──► new: candidates from the blind index ─► Splink ─► link / new child / review
                                                                        ▼
                                        best view of every child touched ─► store (sealed) ─► discrepancies

Records of a batch are matched against the index as it stands (earlier batches included) and against each
other, so a first national load deduplicates everything and a delta links to what is there.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from django.db import connection

from contactpoint.access.models import SourceSystem
from contactpoint.bestview.build import Held, Manual, build
from contactpoint.bestview.discrepancies import sync_discrepancies
from contactpoint.children.models import Child, ChildStatus, SourceRecord
from contactpoint.children.store import (
    FIELD_GROUPS,
    Created,
    NewChild,
    cipher_for,
    ciphers_for,
    create_children,
    load_groups,
    save_records,
)
from contactpoint.feeds import serialise
from contactpoint.feeds.rows import FeedRow
from contactpoint.matching.cluster import decide
from contactpoint.matching.engine import Backend, score
from contactpoint.matching.models import ReviewItem
from contactpoint.matching.profile import profile
from contactpoint.reference import la_for_postcode
from contactpoint.search.keys import dob_variants, in_buckets, matching_tokens
from contactpoint.vault.blindindex import keyed_by_dob
from contactpoint.vault.cipher import ChildCipher
from contactpoint.vault.keyring import KeyRing

UNASSIGNED_LA = "000"


@dataclass
class BatchResult:
    accepted: int = 0
    unchanged: int = 0
    created: list[str] = field(default_factory=list)  # ContactPoint IDs
    updated: list[str] = field(default_factory=list)
    linked: int = 0
    reviews: int = 0


def _seal(cipher: ChildCipher, record_key: str, row: FeedRow) -> bytes:
    return cipher.seal(f"source-record:{record_key}", serialise.dumps(row))


def open_payload(cipher: ChildCipher, record: SourceRecord) -> FeedRow:
    return serialise.loads(cipher.open(f"source-record:{record.record_key}", bytes(record.payload)))


class _Ciphers:
    """Data keys opened once per batch."""

    def __init__(self, keyring: KeyRing) -> None:
        self.keyring = keyring
        self._by_child: dict[int, ChildCipher] = {}

    def add(self, child_id: int, cipher: ChildCipher) -> None:
        self._by_child[child_id] = cipher

    def prefetch(self, children: Sequence[Child]) -> None:
        missing = [c for c in children if c.pk not in self._by_child]
        if missing:
            self._by_child.update(ciphers_for(self.keyring, missing))

    def __call__(self, child: Child) -> ChildCipher:
        cipher = self._by_child.get(child.pk)
        if cipher is None:
            cipher = self._by_child[child.pk] = cipher_for(self.keyring, child)
        return cipher


def _tokens(keyring: KeyRing, row: FeedRow) -> dict[int, set[date]]:
    """The tokens a row looks up, each with the dates of birth it stands for (none for an identifier's)."""
    if row.date_of_birth is None:
        return {}
    out: dict[int, set[date]] = defaultdict(set)
    for dob in dob_variants(row.date_of_birth, fuzzy=True):
        for token in matching_tokens(
                keyring, given=row.name.given, family_names=[row.name.family, *row.former_family_names],
                date_of_birth=dob, postcode=row.address.postcode if row.address else None,
                nhs_number=row.nhs_number, upn=row.upn, uln=row.uln):
            dobs = out[token]
            if keyed_by_dob(token):
                dobs.add(dob)
    return out


def _responsible_la(source: SourceSystem, rows: Iterable[FeedRow], current: str | None = None) -> str:
    """The local authority responsible for a child: the LA whose own systems hold them, else the one they
    live in, else the one already responsible."""
    la = source.organisation.la_code
    if la and source.organisation.kind in ("local_authority", "school"):
        return la
    for row in rows:
        found = la_for_postcode(row.address.postcode if row.address else None)
        if found:
            return found
    return current or la or UNASSIGNED_LA


class Batch:
    """Everything one batch needs: its source, key ring, clock and matching engine."""

    def __init__(self, source: SourceSystem, *, keyring: KeyRing, now: datetime, run_id: str,
                 engine: Backend | None = None) -> None:
        self.source = source
        self.keyring = keyring
        self.now = now
        self.today = now.date()
        self.run_id = run_id
        self.engine = engine
        self.ciphers = _Ciphers(keyring)

    def held_many(self, children: Sequence[Child]) -> dict[int, tuple[list[Held], list[Manual]]]:
        """Everything held about each child, decrypted: its active source records and practitioners' entries,
        in two queries, not two per child (a batch touches thousands)."""
        from contactpoint.records.involvements import manual_entries
        from contactpoint.records.models import PractitionerInvolvement

        ids = [c.pk for c in children]
        records: dict[int, list[SourceRecord]] = defaultdict(list)
        for start in range(0, len(ids), 900):  # SQLite's limit on query parameters
            chunk = ids[start:start + 900]
            for r in SourceRecord.objects.filter(child_id__in=chunk, active=True).order_by("id"):
                records[r.child_id].append(r)
        with_entries = set()
        for start in range(0, len(ids), 900):
            with_entries.update(PractitionerInvolvement.objects.filter(child_id__in=ids[start:start + 900])
                                .values_list("child_id", flat=True).distinct())
        out = {}
        self.ciphers.prefetch(children)
        for child in children:
            cipher = self.ciphers(child)
            held = [Held(r.source, r.source_kind, r.feed_run, r.received, r.record_key, open_payload(cipher, r))
                    for r in records.get(child.pk, ())]
            out[child.pk] = (held, manual_entries(child, cipher) if child.pk in with_entries else [])
        return out

    # -- the batch ---------------------------------------------------------------------------------------------

    def process(self, rows: Sequence[FeedRow]) -> BatchResult:
        result = BatchResult(accepted=len(rows))
        keys = {serialise.record_key(self.keyring, self.source.code, r.source_record_id): r for r in rows}
        hashes = {k: serialise.content_hash(self.keyring, r) for k, r in keys.items()}
        # Neither the children's sealed groups nor unchanged records' payloads are read here: leave them behind.
        existing = {r.record_key: r for r in SourceRecord.objects.select_related("child").filter(
            source=self.source.code, record_key__in=list(keys)).defer(
            "payload", *(f"child__{g}" for g in FIELD_GROUPS))}
        dirty: dict[int, Child] = {}
        for key, record in existing.items():
            if record.content_hash == hashes[key] and record.active:
                result.unchanged += 1
                continue
            child = record.child
            record.payload = _seal(self.ciphers(child), key, keys[key])
            record.content_hash, record.feed_run, record.received, record.active = \
                hashes[key], self.run_id, self.today, True
            record.save(update_fields=["payload", "content_hash", "feed_run", "received", "active"])
            dirty[child.pk] = child
        new = {k: r for k, r in keys.items() if k not in existing}
        if new:
            self._match_and_place(new, hashes, dirty, result)
        self.refresh(list(dirty.values()), result)
        return result

    def _match_and_place(self, new: dict[str, FeedRow], hashes: dict[str, str], dirty: dict[int, Child],
                         result: BatchResult) -> None:
        kind = self.source.kind
        profiles = {k: profile(k, kind, r) for k, r in new.items()}
        tokens: dict[int, set[date]] = defaultdict(set)
        for row in new.values():
            for token, dobs in _tokens(self.keyring, row).items():
                tokens[token] |= dobs
        existing: dict[str, int] = {}
        children = {child.pk: child for child in self._candidates(tokens)}
        for child_id, (held, _) in self.held_many(list(children.values())).items():
            for h in held:
                profiles[h.record_key] = profile(h.record_key, h.source_kind, h.row)
                existing[h.record_key] = child_id
        edges = score(list(profiles.values()), new, engine=self.engine)
        outcome = decide(list(new), existing, profiles, edges)

        # New children: one per group of new records that linked to no child in the index.
        groups: dict[str, list[str]] = defaultdict(list)
        for uid, child_id in outcome.child_of.items():
            if child_id is None:
                groups[outcome.group_of[uid]].append(uid)
        group_keys = list(groups)
        new_children: list[NewChild] = []
        new_views = []
        for g in group_keys:
            rows = [new[uid] for uid in groups[g]]
            held = [Held(self.source.code, kind, self.run_id, self.today, uid, new[uid]) for uid in groups[g]]
            new_views.append(build(held))
            new_children.append(NewChild(new_views[-1].record, _responsible_la(self.source, rows)))
        created: list[Created] = create_children(self.keyring, new_children, now=self.now) if new_children else []
        child_of_record: dict[str, int] = dict(existing)
        inserts = []
        for g, made in zip(group_keys, created, strict=True):
            self.ciphers.add(made.id, made.cipher)
            for uid in groups[g]:
                child_of_record[uid] = made.id
                inserts.append((made.id, uid, _seal(made.cipher, uid, new[uid])))
            result.created.append(made.cpid)
        for uid, child_id in outcome.child_of.items():
            if child_id is not None:
                child_of_record[uid] = child_id
                child = children[child_id]
                inserts.append((child_id, uid, _seal(self.ciphers(child), uid, new[uid])))
                dirty[child_id] = child
                result.linked += 1
        SourceRecord.objects.bulk_create([
            SourceRecord(child_id=child_id, source=self.source.code, source_kind=kind, record_key=uid,
                         content_hash=hashes[uid], feed_run=self.run_id, received=self.today, active=True,
                         payload=payload) for child_id, uid, payload in inserts], batch_size=2000)
        if created:  # a new child's discrepancies point at its source records, which have IDs only now
            sync_discrepancies({made.id: view.discrepancies for made, view in zip(created, new_views, strict=True)},
                               now=self.now)
        self._queue_reviews(outcome.reviews, child_of_record, result)

    def _candidates(self, tokens: dict[int, set[date]]) -> list[Child]:
        """The live children the rows' tokens find, without those that share a bucket only by chance (see
        ``in_buckets``): dropped after their date of birth alone is decrypted, before their source records are."""
        wanted = in_buckets(tokens)
        children = list(Child.objects.filter(id__in=list(wanted), status=ChildStatus.LIVE).defer(
            *(g for g in FIELD_GROUPS if g != "birth")))
        self.ciphers.prefetch(children)
        kept = []
        for child in children:
            dobs = wanted[child.pk]
            if dobs is None or load_groups(self.keyring, child, ["birth"], self.ciphers(child))[
                    "date_of_birth"].value in dobs:
                kept.append(child)
        return kept

    def _queue_reviews(self, reviews, child_of_record: dict[str, int], result: BatchResult) -> None:
        items = []
        las = dict(Child.objects.filter(id__in=set(child_of_record.values())).values_list("id", "responsible_la"))
        for review in reviews:
            a, b = child_of_record.get(review.record_a), child_of_record.get(review.record_b)
            if a is None or b is None or a == b:
                continue
            open_already = ReviewItem.objects.filter(
                child_a_id__in=(a, b), child_b_id__in=(a, b),
                status__in=(ReviewItem.Status.OPEN, ReviewItem.Status.DEFERRED, ReviewItem.Status.KEPT_APART)).exists()
            if open_already:
                continue
            items.append(ReviewItem(child_a_id=a, child_b_id=b, record_a=review.record_a, record_b=review.record_b,
                                    probability=review.probability, evidence=dict(review.evidence),
                                    why=review.why, responsible_la=las.get(a, UNASSIGNED_LA), created_at=self.now))
        ReviewItem.objects.bulk_create(items)
        result.reviews += len(items)

    def refresh(self, children: Sequence[Child], result: BatchResult | None = None) -> None:
        """Rebuild and store the best view of each child (after any change to what is held about them)."""
        items, discrepancies = [], {}
        las = []
        everything = self.held_many(children)
        for child in children:
            held, manual = everything[child.pk]
            if not held:
                continue  # nothing left: the lifecycle or a split deals with an empty record
            view = build(held, manual, cpid=child.cpid)
            items.append((child, view.record, self.ciphers(child)))
            discrepancies[child.pk] = view.discrepancies
            la = _responsible_la(self.source, [h.row for h in held if h.source == self.source.code],
                                 current=child.responsible_la)
            if la != child.responsible_la and la != UNASSIGNED_LA:
                las.append((la, child.pk))
            if result is not None:
                result.updated.append(child.cpid)
        if items:
            save_records(self.keyring, items, now=self.now)
            sync_discrepancies(discrepancies, now=self.now)
        if las:
            with connection.cursor() as cursor:
                cursor.executemany("UPDATE children_child SET responsible_la = %s WHERE id = %s", las)


__all__ = ["UNASSIGNED_LA", "Batch", "BatchResult", "date", "open_payload"]
