"""The review queue: pairs of children the match model could not settle, decided by a data manager (DESIGN.md
section 1 "Accuracy": "Uncertain matches go to a data manager's review queue; merges and splits are reversible
and audited").

    feeds ─► decide() unsure, or a hard rule refused a link ─► ReviewItem (open)
                                                                  │ data manager (web or `contactpoint review`)
                    ┌─────────────────────────────┬───────────────┴──────────────┐
                  link                        keep apart                      defer (with a note)
      Merge: source records move to the   the pair is never queued        stays in the queue
      survivor, its best view rebuilt;    again (the feeds check)
      the other ID is ``merged_into`` it
                    │
                  split (by the Merge): everything goes back as it was

Every decision is audited and kept as a ``Label`` (a human's word on a pair of source records) for training and
measuring the model (``contactpoint match train --with-labels``).

Who sees what: a data manager sees the items where either child belongs to their local authority (the LA
responsible for the child, which the feeds set from the LA's own systems or the child's postcode). A shielded
child of another authority shows only what a shielded record shows anyone (name, gender, date of birth, parents'
names): never where the child is.

How a merge and a split work (and why a split restores a record exactly) is in
``contactpoint.matching.merging``; how the evidence is worked out, in ``contactpoint.matching.evidence``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet

from contactpoint.access.authentication import user_actor
from contactpoint.access.models import User
from contactpoint.access.roles import Permission
from contactpoint.audit.actions import AuditAction
from contactpoint.audit.trail import record_event
from contactpoint.children.models import Child, ChildStatus, SourceRecord
from contactpoint.children.source_records import open_payload
from contactpoint.children.store import cipher_for, load_record, reindex
from contactpoint.errors import NotFound, PermissionDenied, ReviewRefused, ValidationError
from contactpoint.matching import merging
from contactpoint.matching.evidence import Evidence, shown_evidence
from contactpoint.matching.models import Label, Merge, ReviewDecision, ReviewItem
from contactpoint.matching.profile import profile
from contactpoint.records.view import build_view
from contactpoint.vault.cipher import ChildCipher
from contactpoint.vault.keyring import KeyRing

# The ``why`` of a review item made when a data manager created a child by hand and it matched a child already in
# the index (``ingest.manual``): the created record is ``child_a``, held out of every search (``ChildStatus.PENDING``)
# until the pair is decided. Linked, it joins the existing child; kept apart, it becomes a live record of its own.
CREATED_BY_HAND = "created by hand: it may be a child already in the index"

NOTE_MAX = 1000
PENDING = (ReviewItem.Status.OPEN, ReviewItem.Status.DEFERRED)
NOT_FOUND = "There is no review item with that number for your local authority."


class Decision(StrEnum):
    LINK = "link"
    KEEP_APART = "keep_apart"
    DEFER = "defer"


# --- who sees what ---------------------------------------------------------------------------------------------


def _require_reviewer(user: User) -> str:
    if not user.has(Permission.LA_MATCH_REVIEW):
        raise PermissionDenied("Your role does not include reviewing matches.")
    la = user.organisation.la_code
    if not la:
        raise PermissionDenied("Only a local authority's data managers review matches.")
    return la


def items_for(user: User) -> QuerySet[ReviewItem]:
    """Every review item of the user's local authority: either child is theirs (or was, when it was queued)."""
    la = _require_reviewer(user)
    return ReviewItem.objects.filter(Q(child_a__responsible_la=la) | Q(child_b__responsible_la=la)
                                     | Q(responsible_la=la))


def _item(user: User, item_id: int, *, lock: bool = False) -> ReviewItem:
    items = items_for(user).select_related("child_a", "child_b")
    if lock:
        items = items.select_for_update(of=("self",))
    item = items.filter(pk=item_id).first()
    if item is None:
        raise NotFound(NOT_FOUND)
    if item.why == CREATED_BY_HAND and SourceRecord.objects.filter(
            record_key=item.record_a, feed_run=f"created:{user.username}"[:64]).exists():
        # Four eyes: opening the pair would show the one who typed the details the child they matched, and the
        # create form must not be a way to look children up (ingest.manual).
        raise PermissionDenied("You created this record, so another data manager of your authority decides it.")
    return item


def sees_hidden(user: User, child: Child) -> bool:
    """A shielded child's hidden fields are for their own authority's data managers only."""
    return (not child.shielded) or (user.organisation.la_code == child.responsible_la
                                     and user.has(Permission.LA_SHIELD_HIDDEN_VIEW))


# --- the queue -------------------------------------------------------------------------------------------------


class Show(StrEnum):
    PENDING = "pending"  # open and deferred
    OPEN = "open"
    DEFERRED = "deferred"
    DECIDED = "decided"


@dataclass(frozen=True)
class QueueEntry:
    id: int
    created_at: datetime
    probability: float
    why: str
    status: str
    cpid_a: str
    cpid_b: str
    local_authorities: tuple[str, ...]


@dataclass(frozen=True)
class Queue:
    count: int
    entries: list[QueueEntry]
    whys: list[str]  # the reasons present in the user's queue, for filtering


def queue(user: User, *, show: Show = Show.PENDING, why: str = "", offset: int = 0, limit: int = 50) -> Queue:
    """The user's review items, oldest first. Lists IDs and reasons only (no child's details): opening a pair is
    what decrypts, and is audited."""
    items = items_for(user)
    whys = sorted(set(items.filter(status__in=PENDING).values_list("why", flat=True)))
    if show == Show.PENDING:
        items = items.filter(status__in=PENDING)
    elif show == Show.DECIDED:
        items = items.exclude(status__in=PENDING)
    else:
        items = items.filter(status=show.value)
    if why:
        items = items.filter(why=why)
    count = items.count()
    rows = items.select_related("child_a", "child_b").order_by("created_at", "id")[offset:offset + limit]
    entries = [QueueEntry(i.id, i.created_at, i.probability, i.why, i.status, i.child_a.cpid, i.child_b.cpid,
                          tuple(sorted({i.child_a.responsible_la, i.child_b.responsible_la})))
               for i in rows]
    return Queue(count, entries, whys)


# --- a pair, side by side --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Side:
    cpid: str
    status: str
    responsible_la: str
    shielded: bool
    withheld: bool  # shielded and not the user's own authority: hidden fields are not even decrypted
    view: Any  # contactpoint.records.view.RecordView
    sources: tuple[str, ...]  # the source systems holding the child (withheld: none named)
    merged_into: str = ""


@dataclass(frozen=True)
class DecisionEntry:
    kind: str
    label: str
    decided_by: str
    organisation: str
    decided_at: datetime
    note: str
    merge_id: int | None
    merge_undone: bool


@dataclass(frozen=True)
class Pair:
    item: ReviewItem
    a: Side
    b: Side
    evidence: Evidence
    decisions: list[DecisionEntry]
    pending: bool
    why: str  # why the feeds queued it; general words when an identifier of a withheld record was the reason


def _side(user: User, child: Child, *, keyring: KeyRing, now: datetime) -> Side:
    hidden_ok = sees_hidden(user, child)
    view = build_view(user, child, keyring=keyring, overridden=hidden_ok, today=now.date())
    sources = () if not hidden_ok else tuple(sorted(set(
        SourceRecord.objects.filter(child=child, active=True).values_list("source", flat=True))))
    merged_into = child.merged_into.cpid if child.merged_into_id and child.merged_into else ""
    return Side(child.cpid, child.status, child.responsible_la, child.shielded, not hidden_ok, view, sources,
                merged_into)


def _decisions(item: ReviewItem, keyring: KeyRing) -> list[DecisionEntry]:
    decisions = list(item.decisions.select_related("merge").all())
    cipher = cipher_for(keyring, item.child_a) if any(d.note for d in decisions) else None
    out = []
    for d in decisions:
        note = _open_note(cipher, d) if cipher is not None and d.note else ""
        out.append(DecisionEntry(d.kind, ReviewDecision.Kind(d.kind).label, d.decided_by, d.organisation,
                                 d.decided_at, note, d.merge_id, bool(d.merge and d.merge.undone_at)))
    return out


def show(user: User, item_id: int, *, keyring: KeyRing, now: datetime) -> Pair:
    """Both children of a review item as the user may see them, with the evidence and the decisions so far.
    Decrypts both records (in memory), so it is audited before anything is returned."""
    item = _item(user, item_id)
    a = _side(user, item.child_a, keyring=keyring, now=now)
    b = _side(user, item.child_b, keyring=keyring, now=now)
    record_event(AuditAction.MATCH_REVIEW_OPENED, actor=user_actor(user), keyring=keyring, at=now,
                 subjects=[a.cpid, b.cpid],
                 context={"item": item.pk, "withheld": [s.cpid for s in (a, b) if s.withheld]})
    found, why = shown_evidence(item, a.view.record, b.view.record), item.why
    if a.withheld or b.withheld:
        found = found.withholding()
        why = "an uncertain match" if why.startswith("different ") else why
    return Pair(item, a, b, found, _decisions(item, keyring), item.status in PENDING, why)


# --- notes -----------------------------------------------------------------------------------------------------


def _note_field(decision: ReviewDecision) -> str:
    return f"review-note:{decision.item_id}:{decision.pk}"


def _open_note(cipher: ChildCipher, decision: ReviewDecision) -> str:
    return cipher.open(_note_field(decision), bytes(decision.note)).decode()


def _clean_note(note: str | None, *, required: bool) -> str:
    note = (note or "").strip()
    if required and not note:
        raise ValidationError("note", "say why you are deferring, and what would settle it")
    if len(note) > NOTE_MAX:
        raise ValidationError("note", f"a note is at most {NOTE_MAX} characters")
    if any(ord(c) < 32 and c not in "\n\r\t" for c in note):
        raise ValidationError("note", "a note cannot contain control characters")
    return note


def _record_decision(item: ReviewItem, user: User, kind: ReviewDecision.Kind, note: str, *, keyring: KeyRing,
                     now: datetime, merge: Merge | None = None) -> ReviewDecision:
    decision = ReviewDecision.objects.create(item=item, kind=kind, decided_by=user.username,
                                             organisation=user.organisation.code, decided_at=now, merge=merge)
    if note:
        decision.note = cipher_for(keyring, item.child_a).seal(_note_field(decision), note.encode())
        decision.save(update_fields=["note"])
    return decision


# --- deciding --------------------------------------------------------------------------------------------------


def decide(user: User, item_id: int, decision: Decision | str, *, note: str = "", keyring: KeyRing,
           now: datetime) -> ReviewDecision:
    """Link the pair (one child: merge), keep it apart (two children: never queued again) or defer it (it stays in
    the queue, with a note saying why). Audited; link and keep apart are kept as labels for the model."""
    try:
        decision = Decision(decision)
    except ValueError:
        raise ValidationError("decision", "choose link, keep apart or defer") from None
    note = _clean_note(note, required=decision == Decision.DEFER)
    with transaction.atomic():
        item = _item(user, item_id, lock=True)
        if item.status not in PENDING:
            raise ReviewRefused("This pair has already been decided. To undo a link, split the merge.")
        actor = user_actor(user)
        context: dict[str, Any] = {"item": item.pk, "decision": decision.value, "why": item.why,
                                   "probability_percent": round(item.probability * 100)}
        merge = None
        if decision == Decision.LINK:
            merge = _merge(item, user, keyring=keyring, now=now)
            item.status = ReviewItem.Status.LINKED
            context["merge"] = merge.pk
        elif decision == Decision.KEEP_APART:
            item.status = ReviewItem.Status.KEPT_APART
        else:
            item.status = ReviewItem.Status.DEFERRED
        if decision != Decision.DEFER:
            item.decided_at, item.decided_by = now, user.username
            Label.objects.create(record_a=item.record_a, record_b=item.record_b,
                                 is_match=decision == Decision.LINK, decided_by=user.username, decided_at=now)
        item.save(update_fields=["status", "decided_at", "decided_by"])
        if decision == Decision.KEEP_APART:
            _release_created(item, keyring)
        kind = {Decision.LINK: ReviewDecision.Kind.LINK, Decision.KEEP_APART: ReviewDecision.Kind.KEEP_APART,
                Decision.DEFER: ReviewDecision.Kind.DEFER}[decision]
        made = _record_decision(item, user, kind, note, keyring=keyring, now=now, merge=merge)
        record_event(AuditAction.MATCH_DECIDED, actor=actor, keyring=keyring, at=now,
                     subjects=[item.child_a.cpid, item.child_b.cpid], context=context,
                     detail={"note": note} if note else None)
    return made


# --- merging and splitting (the mechanics are in contactpoint.matching.merging) ----------------------------------


def _release_created(item: ReviewItem, keyring: KeyRing) -> None:
    """A record created by hand, kept apart from every child it was queued against, is a child of its own: live
    and in the index from now on. While another of its pairs is still open it waits for that one too."""
    child = Child.objects.select_for_update().get(pk=item.child_a_id)
    if child.status != ChildStatus.PENDING:
        return
    if ReviewItem.objects.filter(child_a=child, why=CREATED_BY_HAND, status__in=PENDING).exists():
        return
    Child.objects.filter(pk=child.pk).update(status=ChildStatus.LIVE)
    child.refresh_from_db()
    reindex(keyring, child, load_record(keyring, child))


def _merge(item: ReviewItem, user: User, *, keyring: KeyRing, now: datetime) -> Merge:
    a, b = (Child.objects.select_for_update().get(pk=pk) for pk in (item.child_a_id, item.child_b_id))
    linkable = (ChildStatus.LIVE, ChildStatus.PENDING)  # a record created by hand waits for this very decision
    if a.status not in linkable or b.status not in linkable or (
            a.status == ChildStatus.PENDING and b.status == ChildStatus.PENDING):
        raise ReviewRefused("One of these records is no longer live (archived, sealed or merged), so they cannot "
                            "be linked. Keep the pair apart, or ask your ContactPoint team.")
    if not merging.has_records(a, b):
        raise ReviewRefused("Neither record holds a current source record, so a best view cannot be built.")
    # The record created by hand joins the child already there, whose ContactPoint ID practitioners know.
    survivor, absorbed = (b, a) if a.status == ChildStatus.PENDING else (a, b) \
        if b.status == ChildStatus.PENDING else merging.survivor_of(a, b)
    merge = merging.merge_children(survivor, absorbed, by=user.username, item=item, keyring=keyring, now=now,
                                   actor=user_actor(user))
    record_event(AuditAction.RECORDS_MERGED, actor=user_actor(user), keyring=keyring, at=now,
                 subjects=[survivor.cpid, absorbed.cpid],
                 context={"merge": merge.pk, "item": item.pk, "survivor": survivor.cpid, "absorbed": absorbed.cpid,
                          "records_moved": len(merge.record_keys),
                          "entries_moved": len(merge.before["involvements"]), "shielded": survivor.shielded})
    return merge


def merges_for(user: User) -> QuerySet[Merge]:
    la = _require_reviewer(user)
    return Merge.objects.filter(Q(survivor__responsible_la=la) | Q(absorbed__responsible_la=la))


def split(user: User, merge_id: int, *, note: str = "", keyring: KeyRing, now: datetime) -> Merge:
    """Undo a merge: the absorbed child is live again under its own ID with its own records, exactly as it was
    (rebuilt only if one of its records changed since), and the survivor's view is rebuilt without them. The
    pair is then kept apart, and the split kept as a label (two children)."""
    note = _clean_note(note, required=False)
    with transaction.atomic():
        merge = merges_for(user).select_for_update(of=("self",)).select_related(
            "survivor", "absorbed", "review").filter(pk=merge_id).first()
        if merge is None:
            raise NotFound("There is no merge with that number for your local authority.")
        if merge.undone_at is not None:
            raise ReviewRefused("That merge has already been split.")
        survivor = Child.objects.select_for_update().get(pk=merge.survivor_id)
        absorbed = Child.objects.select_for_update().get(pk=merge.absorbed_id)
        if survivor.status != ChildStatus.LIVE or absorbed.status != ChildStatus.MERGED \
                or absorbed.merged_into_id != survivor.pk:
            raise ReviewRefused("The merged record is no longer live, so the merge cannot be split here. "
                                "Ask your ContactPoint team.")
        merging.undo_merge(merge, survivor, absorbed, by=user.username, keyring=keyring, now=now,
                           actor=user_actor(user))
        item = merge.review
        if item is not None:
            item.status, item.decided_at, item.decided_by = ReviewItem.Status.KEPT_APART, now, user.username
            item.save(update_fields=["status", "decided_at", "decided_by"])
            Label.objects.create(record_a=item.record_a, record_b=item.record_b, is_match=False,
                                 decided_by=user.username, decided_at=now)
            _record_decision(item, user, ReviewDecision.Kind.SPLIT, note, keyring=keyring, now=now, merge=merge)
        record_event(AuditAction.RECORDS_SPLIT, actor=user_actor(user), keyring=keyring, at=now,
                     subjects=[survivor.cpid, absorbed.cpid],
                     context={"merge": merge.pk, "item": item.pk if item else None, "survivor": survivor.cpid,
                              "restored": absorbed.cpid, "records_moved": len(merge.record_keys)},
                     detail={"note": note} if note else None)
    return merge


# --- history ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HistoryEntry:
    item_id: int
    kind: str
    label: str
    decided_by: str
    decided_at: datetime
    cpid_a: str
    cpid_b: str
    merge_id: int | None
    can_split: bool


def history(user: User, *, offset: int = 0, limit: int = 50) -> tuple[int, list[HistoryEntry]]:
    """Decisions on the user's authority's items, newest first (IDs only: no child's details)."""
    decisions = ReviewDecision.objects.filter(item__in=items_for(user)).select_related(
        "item__child_a", "item__child_b", "merge")
    count = decisions.count()
    out = []
    for d in decisions.order_by("-decided_at", "-id")[offset:offset + limit]:
        can_split = bool(d.merge and d.kind == ReviewDecision.Kind.LINK and d.merge.undone_at is None)
        out.append(HistoryEntry(d.item_id, d.kind, ReviewDecision.Kind(d.kind).label, d.decided_by, d.decided_at,
                                d.item.child_a.cpid, d.item.child_b.cpid, d.merge_id, can_split))
    return count, out


def current_cpid(cpid: str) -> str:
    """The ContactPoint ID a record is known by now: a merged record's ID resolves to the survivor's."""
    found = Child.objects.filter(cpid=cpid).values_list("pk", flat=True).first()
    return merging.followed(found).cpid if found is not None else cpid


# --- labels for the model --------------------------------------------------------------------------------------


def labelled_training_data(keyring: KeyRing) -> tuple[list[dict[str, Any]], list[tuple[str, str]]]:
    """Profiles of the source records data managers linked, and the pairs they said are one child (the latest
    word on each pair counts). For ``contactpoint match train --with-labels``: profiles are built in memory and
    carry the record keys (HMACs), never a source's own ID."""

    latest: dict[tuple[str, str], bool] = {}
    for label in Label.objects.order_by("decided_at", "id"):
        latest[min(label.record_a, label.record_b), max(label.record_a, label.record_b)] = label.is_match
    pairs = [pair for pair, is_match in latest.items() if is_match]
    keys = {k for pair in pairs for k in pair}
    profiles: dict[str, dict[str, Any]] = {}
    ciphers: dict[int, ChildCipher] = {}
    for record in SourceRecord.objects.filter(record_key__in=keys).select_related("child"):
        cipher = ciphers.get(record.child_id) or ciphers.setdefault(record.child_id,
                                                                   cipher_for(keyring, record.child))
        profiles[record.record_key] = profile(record.record_key, record.source_kind, open_payload(cipher, record))
    pairs = [p for p in pairs if p[0] in profiles and p[1] in profiles]
    return list(profiles.values()), pairs


# --- splitting any child's records apart (links the pipeline made included) -------------------------------------


@dataclass(frozen=True)
class HeldBy:
    """One of a child's source records, as a data manager chooses which to split out."""

    id: int
    source: str
    received: Any  # date
    given: str
    family: str
    date_of_birth: Any  # date | None
    nhs_number: str | None


def _own_live_child(user: User, cpid: str, *, lock: bool = False) -> Child:
    la = _require_reviewer(user)
    children = Child.objects.select_for_update() if lock else Child.objects
    child = children.filter(cpid=cpid.strip().upper().replace(" ", ""), responsible_la=la).first()
    if child is None:
        raise NotFound("There is no record with that ContactPoint ID for your local authority.")
    if child.status != ChildStatus.LIVE:
        raise ReviewRefused("Only a live record can be split.")
    return child


def records_of(user: User, cpid: str, *, keyring: KeyRing, now: datetime) -> tuple[Child, list[HeldBy]]:
    """A child of the user's authority and the source records linked to it (opened: audited), to choose which
    belong to another child."""
    child = _own_live_child(user, cpid)
    cipher = cipher_for(keyring, child)
    out = []
    for record in SourceRecord.objects.filter(child=child, active=True).order_by("id"):
        row = open_payload(cipher, record)
        out.append(HeldBy(record.pk, record.source, record.received, row.name.given, row.name.family,
                          row.date_of_birth, row.nhs_number))
    record_event(AuditAction.MATCH_REVIEW_OPENED, actor=user_actor(user), keyring=keyring, at=now,
                 subjects=[child.cpid], context={"records_of": child.cpid, "records": len(out)})
    return child, out


def split_records(user: User, cpid: str, record_ids: list[int], *, note: str = "", keyring: KeyRing,
                  now: datetime) -> Child:
    """Split the chosen source records out of a child of the user's authority into a child of their own, whoever
    linked them (the pipeline or a person): the child is rebuilt from the records it keeps, exactly as if the
    others had never been linked, and the new child is made from those alone. The two are then kept apart (never
    queued for review again), the split is kept as a label for the model, and it is audited. Returns the new
    child."""
    note = _clean_note(note, required=False)
    with transaction.atomic():
        child = _own_live_child(user, cpid, lock=True)
        records = dict(SourceRecord.objects.filter(child=child, active=True).values_list("pk", "record_key"))
        chosen = sorted({int(i) for i in record_ids})
        if not chosen or any(i not in records for i in chosen):
            raise ValidationError("records", "choose the records that belong to another child")
        if len(chosen) == len(records):
            raise ValidationError("records", "leave at least one record with this child")
        keys = [records[i] for i in chosen]
        try:
            new = merging.detach_records(child, keys, keyring=keyring, now=now)
        except ValueError:
            raise ValidationError("records", "the records chosen have no date of birth between them, so they "
                                             "cannot make a child of their own") from None
        kept = next(k for i, k in records.items() if i not in chosen)
        item = ReviewItem.objects.create(
            child_a=child, child_b=new, record_a=kept, record_b=keys[0], probability=0.0, evidence={},
            why="split by a data manager", responsible_la=child.responsible_la,
            status=ReviewItem.Status.KEPT_APART, created_at=now, decided_at=now, decided_by=user.username)
        Label.objects.create(record_a=kept, record_b=keys[0], is_match=False, decided_by=user.username,
                             decided_at=now)
        _record_decision(item, user, ReviewDecision.Kind.SPLIT, note, keyring=keyring, now=now)
        record_event(AuditAction.RECORDS_SPLIT, actor=user_actor(user), keyring=keyring, at=now,
                     subjects=[child.cpid, new.cpid],
                     context={"item": item.pk, "split_from": child.cpid, "made": new.cpid,
                              "records_moved": len(keys), "shielded": child.shielded},
                     detail={"note": note} if note else None)
    return new
