"""A data manager creates a child by hand (issue 19): "a data manager ... create a record for a child no feed
knows (a child arrived from abroad, a child at no school and no GP). Creating a child by hand goes through
matching first (no duplicates)."

The details are treated as the feeds treat a row, because that is what they are: a row of the local authority's
own (source ``la:<code>``, kind ``la_social_care``), checked by the feeds' own validation (``feeds.validate``:
every rule of ``children.identifiers``), stored as a source record of that authority with the provenance
"Created by <who>, <authority> local authority, on <date>", and matched as ``ingest.batch`` matches a row:

    details ─► validate (as a feed row) ─► new-identity guards ─► candidates, Splink, clustering
                                                │                      │
                                 held for the    │          links or is unsure about a child already there?
                                 authority that  │           ├─ no:  a new child (new ContactPoint ID, this
                                 made the new    ▼           │       authority responsible): the usual feed path
                                 identity                    └─ yes: a review item for each such child; the record
                                                                     waits out of every search (``PENDING``)

Where the record may be a child already in the index, even one the model is sure of, nothing is created that
anyone can find: the data manager is told only that a possible match has gone to the review queue, with the
item's number, and never which child or anything about them (the form would otherwise let anyone with the role
find out who is in the index by trying names). The review queue decides, as for any pair: linked, the record
joins that child; kept apart, it becomes a live child of its own (``matching.review``).

The same submission sent twice (a double click, a retried request) makes one child: the record's ID is made from
the submission's reference, and a second try finds the first one's record and gives its outcome again.

Every creation is audited (``record.created``, with the outcome and, as subjects, the children it matched, for
auditors: a data manager trying names would show there).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from django.db import IntegrityError, transaction
from django.db.models import Q

from contactpoint.access.authentication import user_actor
from contactpoint.access.models import SourceSystem, User
from contactpoint.access.roles import Permission
from contactpoint.audit.actions import AuditAction
from contactpoint.audit.trail import record_event
from contactpoint.children import source_records
from contactpoint.children.models import Child, ChildStatus, HeldRecord, SourceRecord
from contactpoint.children.sealing import Identity
from contactpoint.children.store import create_sealed
from contactpoint.errors import PermissionDenied, ValidationError
from contactpoint.feeds.formats.raw import RawRow
from contactpoint.feeds.validate import validate
from contactpoint.ingest import held
from contactpoint.ingest.batch import Batch
from contactpoint.ingest.prepare import Entry, lacks
from contactpoint.ingest.work import NewJob, View
from contactpoint.matching.engine import Backend
from contactpoint.matching.models import ReviewItem
from contactpoint.matching.review import CREATED_BY_HAND
from contactpoint.vault.keyring import KeyRing

SOURCE_KIND = "la_social_care"  # weighed in the best view as the authority's own systems are
CREATED_FEED = "created:"  # the provenance ``feed`` of a record made by hand: "created:<username>"
SUBMISSION = re.compile(r"[A-Za-z0-9_-]{8,64}")
# The form's fields, in the order its errors are listed (and the feed columns they are checked as).
FIELDS = ("given_name", "middle_names", "family_name", "date_of_birth", "gender", "address_line_1",
          "address_line_2", "town", "postcode", "nhs_number", "upn", "carer_1_name", "carer_1_relationship",
          "carer_1_parental_responsibility", "carer_1_phone", "carer_2_name", "carer_2_relationship",
          "carer_2_parental_responsibility", "carer_2_phone")
REQUIRED = {"given_name": "enter the child's given name", "family_name": "enter the child's family name",
            "date_of_birth": "enter the child's date of birth", "gender": "choose the child's gender",
            "address_line_1": "enter the first line of the child's address",
            "postcode": "enter the postcode of the child's address"}
REVIEW_MESSAGE = ("A possible match with a child already on ContactPoint was found, so no new record was made. The "
                  "details have gone to the review queue for a data manager to decide.")
HELD_MESSAGE = ("A possible match with a record on ContactPoint was found, so no new record was made. The details "
                "have been held back for a data manager to decide.")


class Outcome(StrEnum):
    CREATED = "created"  # a new child: ``cpid``
    REVIEW = "review"  # a possible match: review items ``reference``
    HELD = "held"  # it carries an identifier of a record sealed for a new identity: held, as a feed's row is


@dataclass(frozen=True)
class Creation:
    outcome: Outcome
    reference: str  # the ContactPoint ID made, or the review item's number ("R-12"), or the held row's ("H-3")
    cpid: str | None = None  # only for a new child
    repeated: bool = False  # the same submission was made before: this is its outcome, nothing new was made
    subject: str = field(default="", repr=False)  # the record made, pending or not (for the audit entry only)

    @property
    def message(self) -> str:
        return {Outcome.CREATED: "The child's record has been created.", Outcome.REVIEW: REVIEW_MESSAGE,
                Outcome.HELD: HELD_MESSAGE}[self.outcome]


def source_code(la: str) -> str:
    return f"la:{la}"


def problems(values: dict[str, str], *, today: date) -> list[tuple[str, str]]:
    """Every problem with the details, as (field, reason), in the form's order: the feeds' validation of the same
    row, and what a record made by hand needs besides (a feed may leave out gender and address; a person here
    must not). Reasons never repeat a value."""
    found: dict[str, str] = {}
    for name, reason in REQUIRED.items():
        if not (values.get(name) or "").strip():
            found[name] = reason
    if (values.get("gender") or "").strip() not in ("", "male", "female", "not specified"):
        found["gender"] = "choose male, female or not specified"
    fields = {name: (values.get(name) or "").strip() for name in FIELDS}
    _, said = validate(RawRow(line=1, fields={**fields, "source_record_id": "by-hand"}), today=today)
    for problem in said:
        field = problem.field if problem.field in FIELDS else "given_name"
        found.setdefault(field, problem.reason)
    return sorted(found.items(), key=lambda fr: FIELDS.index(fr[0]))


def create_child(user: User, values: dict[str, str], *, submission: str, keyring: KeyRing, now: datetime,
                 engine: Backend | None = None) -> Creation:
    """Create a child from details a data manager entered, through matching first (module docstring).
    ``submission`` is the reference of this submission (the form's, or the API client's): the same one again gives
    the first one's outcome. Raises ``ValidationError`` for the first problem (``problems`` lists them all)."""
    if not user.has(Permission.LA_RECORDS_CORRECT):
        raise PermissionDenied("Only a local authority's data managers can create a child's record.")
    la = user.organisation.la_code
    if not la:
        raise PermissionDenied("Only a local authority's data managers can create a child's record.")
    if not SUBMISSION.fullmatch(submission or ""):
        raise ValidationError("submission", "the submission reference must be 8 to 64 letters, digits, - or _")
    found = problems(values, today=now.date())
    if found:
        raise ValidationError(*found[0])
    fields = {name: (values.get(name) or "").strip() for name in FIELDS}
    # The source's own ID of the record: one per user and submission (so a repeat finds it), within a feed's limit.
    record_id = "created-" + hashlib.sha256(f"{user.pk}|{submission}".encode()).hexdigest()[:40]
    row, _ = validate(RawRow(line=1, fields={**fields, "source_record_id": record_id, "whereabouts": "current",
                                             "updated_at": now.date().isoformat()}), today=now.date())
    assert row is not None  # ``problems`` found none
    source = SourceSystem(code=source_code(la), name=f"{la} local authority", kind=SOURCE_KIND,
                          organisation=user.organisation)  # not saved: the authority's own hand, not a system
    key = source_records.record_key(keyring, source.code, record_id)
    try:
        with transaction.atomic():
            before = _earlier(source.code, key)
            if before is not None:
                _audit(user, before, keyring=keyring, now=now)
                return before
            payload = source_records.dumps(row)
            entry = Entry(row, key, source_records.content_hash(keyring, payload), payload, line=1, lacks=lacks(row))
            # As a feed's batch: rows held back that wait for a record like this one are tried again at once.
            batch = Batch(source, keyring=keyring, now=now, run_id=f"{CREATED_FEED}{user.username}"[:64],
                          engine=engine)
            matches, guarded = batch.possible_matches(entry)
            if guarded:
                made = _hold(batch, guarded)
            elif matches:
                made = _pending(batch, entry, matches, la=la, now=now)
            else:
                made = _new_child(batch, entry, la=la)
            _audit(user, made, keyring=keyring, now=now, matched=[c for c, _ in matches])
            return made
    except IntegrityError:  # the same submission, at the same moment: the other one made it
        before = _earlier(source.code, key)
        if before is None:
            raise
        _audit(user, before, keyring=keyring, now=now)
        return before


def _earlier(source: str, key: str) -> Creation | None:
    """The outcome of the same submission made before, if it was."""
    record = SourceRecord.objects.filter(source=source, record_key=key).select_related("child").first()
    if record is None:
        kept = HeldRecord.objects.filter(source=source, record_key=key).first()
        return None if kept is None else Creation(Outcome.HELD, f"H-{kept.pk}", repeated=True)
    child = record.child
    items = list(ReviewItem.objects.filter(child_a=child, why=CREATED_BY_HAND).order_by("id"))
    if not items:  # linked since: the record moved to the child it was (its review item followed it)
        items = list(ReviewItem.objects.filter(Q(child_a=child) | Q(child_b=child), why=CREATED_BY_HAND,
                                               record_a=key).order_by("id"))
    if items or child.status == ChildStatus.PENDING:
        return Creation(Outcome.REVIEW, _references(items), repeated=True, subject=child.cpid)
    return Creation(Outcome.CREATED, child.cpid, child.cpid, repeated=True, subject=child.cpid)


def _references(items: list[ReviewItem]) -> str:
    return ", ".join(f"R-{i.pk}" for i in items)


def _new_child(batch: Batch, entry: Entry, *, la: str) -> Creation:
    """Nothing matched: the record is taken in as any feed's new record is, and makes a child."""
    result = batch.process([entry])
    [cpid] = result.created
    Child.objects.filter(cpid=cpid).exclude(responsible_la=la).update(responsible_la=la)
    return Creation(Outcome.CREATED, cpid, cpid, subject=cpid)


def _pending(batch: Batch, entry: Entry, matches, *, la: str, now: datetime) -> Creation:
    """A possible match: the record is kept as a child of its own out of every search and every feed's matching
    (no index tokens), in a review item with each child it may be."""
    views: list[View] = []

    def prepare(identities: list[Identity]):
        views[:] = batch.workers.create([NewJob(identities[0].cpid, identities[0].data_key,
                                                [(entry.key, entry.payload)])])
        # Sealed without its index tokens: written with none, it is in no search and no feed's lookup.
        return [(views[0].sealed._replace(tokens=frozenset()), la, False)]

    [made] = create_sealed(batch.keyring, 1, prepare, now=now)
    SourceRecord.objects.create(
        child_id=made.id, source=batch.source.code, source_kind=SOURCE_KIND, record_key=entry.key,
        content_hash=entry.content_hash, feed_run=batch.run_id, received=batch.today, active=True,
        payload=source_records.seal_record(made.cipher, entry.key, entry.payload))
    Child.objects.filter(pk=made.id).update(status=ChildStatus.PENDING, responsible_la=la)
    items = []
    for child_id, edge in matches:
        other = edge.right if edge.left == entry.key else edge.left
        items.append(ReviewItem.objects.create(
            child_a_id=made.id, child_b_id=child_id, record_a=entry.key, record_b=other,
            probability=edge.probability, evidence=dict(edge.evidence), why=CREATED_BY_HAND, responsible_la=la,
            created_at=now))
    return Creation(Outcome.REVIEW, _references(items), subject=made.cpid)


def _hold(batch: Batch, guarded: list[held.ToHold]) -> Creation:
    held.hold(guarded, source=batch.source.code, source_kind=SOURCE_KIND, run_id=batch.run_id,
              received=batch.today, keyring=batch.keyring)
    kept = HeldRecord.objects.get(source=batch.source.code, record_key=guarded[0].record_key)
    return Creation(Outcome.HELD, f"H-{kept.pk}")


def _audit(user: User, made: Creation, *, keyring: KeyRing, now: datetime, matched: list[int] | None = None) -> None:
    # The children it matched are subjects too, for auditors (never shown to the data manager who created it).
    others = sorted(Child.objects.filter(pk__in=matched or []).values_list("cpid", flat=True))
    record_event(AuditAction.RECORD_CREATED, actor=user_actor(user), keyring=keyring, at=now,
                 subjects=[c for c in [made.subject, *others] if c],
                 context={"outcome": made.outcome.value, "reference": made.reference, "repeated": made.repeated,
                          "matched": len(matched or [])})


__all__ = ["CREATED_FEED", "FIELDS", "Creation", "Outcome", "create_child", "problems", "source_code"]
