"""Discrepancies flagged back to sources (seed: "where these occur, they will be identified and flagged back to
the source for correction").

Whenever a child's best view is rebuilt, the set of (source record, field) disagreements is compared with the
open items: new disagreements open an item for the record's source, items whose source now agrees (or no
longer holds the record) close themselves. The report a source fetches is worked out from the records at that
moment and never reveals a shielded child's whereabouts, nor any identifier from another source. It is read a
page at a time, filtered by field, kind and the source's answer, with the total count.

A source answers each of its open items: ``acknowledge`` (it has seen it and will correct its record) or
``dispute`` (its value is right, with a reason). The item stays open either way, until the data agrees or the
value is corrected. The reason is sealed with the child's data key and shown only to the data managers of the
child's local authority, who also read each item with a link to the child (``reader``): never a shielded
child's, unless theirs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import QuerySet

from contactpoint import bulk
from contactpoint.access.models import User
from contactpoint.access.roles import Permission
from contactpoint.audit.actions import AuditAction, Outcome
from contactpoint.audit.trail import Actor, record_event
from contactpoint.bestview.models import Discrepancy
from contactpoint.children.models import Child, ChildStatus, SourceRecord
from contactpoint.children.source_records import ENCODING, open_payload
from contactpoint.children.store import cipher_for, load_groups
from contactpoint.errors import NotFound, ValidationError
from contactpoint.vault.keyring import KeyRing

FIELD_WORDS = {"date_of_birth": "date of birth", "name": "name", "nhs_number": "NHS number", "gender": "gender",
               "upn": "Unique Pupil Number", "uln": "Unique Learner Number", "carers": "parents and carers",
               "education": "educational setting", "gp": "GP practice"}
# Disagreements reported with nothing of the others' values: identifiers are never passed between sources, and
# carers, settings and practices say who the child lives with and where they are.
_NO_VALUE = frozenset({"nhs_number", "upn", "uln", "carers", "education", "gp"})
REASON_MAX = 500  # characters of a dispute's reason
NO_SUCH_ITEM = "There is no discrepancy item with this ID for your source system."
_MAX_ID = 2**53  # beyond any item's ID; a larger one is absent, not a database error


def sync_discrepancies(current: Mapping[int, frozenset[tuple[str, str]]], *, now: datetime,
                       new_children: bool = False) -> tuple[int, int]:
    """Open and close items for the children in ``current`` (child ID -> its disagreements). Returns (opened,
    closed). ``new_children``: the children were made in this transaction, so none has an item to close and none
    is asked for (a feed's new children; a first load's go through ``open_for_new``)."""
    if not current:
        return 0, 0
    open_items: list[Discrepancy] = []
    for q in [] if new_children else bulk.any_of("child_id", list(current)):
        open_items += Discrepancy.objects.filter(q, closed_at__isnull=True, kind=Discrepancy.Kind.DISAGREEMENT) \
            .select_related("record")
    have = {(d.child_id, d.record.record_key, d.field) for d in open_items}
    want = {(child, key, field) for child, found in current.items() for key, field in found}
    closing = []
    for d in open_items:
        if (d.child_id, d.record.record_key, d.field) not in want:
            d.closed_at = now
            d.closed_reason = "source agrees" if d.record.active else "record no longer held"
            closing.append(d)
    Discrepancy.objects.bulk_update(closing, ["closed_at", "closed_reason"])
    new = sorted(want - have)
    records: dict[tuple[int, str], SourceRecord] = {}  # of the children with a new item only: most batches open none
    for q in bulk.any_of("child_id", sorted({child for child, _, _ in new})):
        records.update(((r.child_id, r.record_key), r) for r in
                       SourceRecord.objects.filter(q).only("id", "child_id", "record_key", "source", "active"))
    opening = [Discrepancy(source=records[(child, key)].source, record=records[(child, key)], child_id=child,
                           field=field, opened_at=now)
               for child, key, field in new if (child, key) in records]
    Discrepancy.objects.bulk_create(opening)
    return len(opening), len(closing)


def sync_invalid(flags: Mapping[int, tuple[int, str, frozenset[tuple[str, str]]]], *,
                 now: datetime) -> tuple[int, int]:
    """Open and close the wrong-or-missing-value items of the source records in ``flags`` (record ID -> (its
    child, its source, the (field, reason) of each value it was taken without)): called for each record a feed
    has just sent, new or changed. Returns (opened, closed). (A first load's new records: ``open_for_new``.)"""
    if not flags:
        return 0, 0
    open_items: list[Discrepancy] = []
    for q in bulk.any_of("record_id", list(flags)):
        open_items += Discrepancy.objects.filter(q, closed_at__isnull=True, kind=Discrepancy.Kind.INVALID)
    have = {(d.record_id, d.field, d.reason) for d in open_items}
    want = {(record, field, reason) for record, (_, _, found) in flags.items() for field, reason in found}
    closing = [d for d in open_items if (d.record_id, d.field, d.reason) not in want]
    for d in closing:
        d.closed_at, d.closed_reason = now, "source corrected it"
    Discrepancy.objects.bulk_update(closing, ["closed_at", "closed_reason"])
    opening = [Discrepancy(source=flags[record][1], record_id=record, child_id=flags[record][0], field=field[:100],
                           kind=Discrepancy.Kind.INVALID, reason=reason[:300], opened_at=now)
               for record, field, reason in sorted(want - have)]
    Discrepancy.objects.bulk_create(opening)
    return len(opening), len(closing)


_NEW_COLUMNS = ("source", "record_id", "child_id", "field", "kind", "reason", "opened_at", "closed_reason", "state",
                "answered_by", "dispute_reason")


def open_for_new(disagreements: Mapping[int, frozenset[tuple[str, str]]],
                 records: Mapping[tuple[int, str], tuple[int, str]],
                 invalid: Mapping[int, tuple[int, str, frozenset[tuple[str, str]]]], *, now: datetime) -> int:
    """The items of children and records made in this transaction, whose IDs the caller gave them: a first load's
    (``ingest.load``). The same items as ``sync_discrepancies`` and ``sync_invalid`` open, with nothing to close
    and nothing looked up (``records``: (child, record key) -> (record ID, source)), written by ``COPY``. Asking
    for the records of each batch's children took a fifth of a load's write at 3 million records, and more the
    further it went. Returns how many were opened."""
    stamp = connection.ops.adapt_datetimefield_value(now)
    rows = [(source, record, child, field, Discrepancy.Kind.DISAGREEMENT.value, "")
            for child, key, field in sorted({(child, key, field) for child, found in disagreements.items()
                                             for key, field in found}) if (child, key) in records
            for record, source in [records[child, key]]]
    rows += [(source, record, child, field[:100], Discrepancy.Kind.INVALID.value, reason[:300])
             for record, (child, source, found) in sorted(invalid.items()) for field, reason in sorted(found)]
    bulk.insert("bestview_discrepancy", _NEW_COLUMNS,
                ((*row, stamp, "", Discrepancy.State.OPEN.value, "", b"") for row in rows))
    return len(rows)


@dataclass(frozen=True)
class Filters:
    """Which open items to list; an empty value lists every one."""

    field: str = ""
    kind: str = ""  # a ``Discrepancy.Kind``
    state: str = ""  # a ``Discrepancy.State``: the source's answer

    def chosen(self) -> dict[str, str]:
        return {k: v for k, v in asdict(self).items() if v}


EVERY_ITEM = Filters()


@dataclass(frozen=True)
class ReportItem:
    id: int  # the item's number, by which its source answers it
    source_record_id: str  # the source's own ID for its record
    field: str
    message: str
    opened: date
    kind: str = Discrepancy.Kind.DISAGREEMENT.value
    state: str = Discrepancy.State.OPEN.value
    answered: date | None = None
    answered_by: str = ""  # the audit actor who answered: source:<code>, or the operator
    # For a data manager (``reader``) only:
    cpid: str = ""  # the child's ContactPoint ID, where they may follow it (a live child; a shielded one only theirs)
    dispute_reason: str = ""  # only for the data managers of the child's own local authority


@dataclass(frozen=True)
class Report:
    total: int  # open items matching the filters, on every page
    items: list[ReportItem]


def fetch_report(source: str, *, actor: Actor, keyring: KeyRing, now: datetime,
                 context: Mapping[str, Any] | None = None, filters: Filters = EVERY_ITEM, offset: int = 0,
                 limit: int | None = None, reader: User | None = None) -> Report:
    """The source's open items (a page of them: ``offset``, ``limit``; filtered), audited as fetched by ``actor``
    (who must already be allowed to read them): the one fetch behind ``contactpoint discrepancies``, the local
    authority's page and the source's API call. ``reader`` is the data manager reading it on the page: their
    items carry the child's ContactPoint ID where they may follow it, and a dispute's reason where the child is
    their authority's; the IDs shown are the entry's subjects. ``context`` adds to the audit entry
    (``{"api": True}`` for the API)."""
    total = count(source, filters)
    items = report(source, keyring=keyring, filters=filters, offset=offset, limit=limit, reader=reader)
    paging = ({"offset": offset} if offset else {}) | ({"limit": limit} if limit is not None else {})
    opened = sum(1 for i in items if i.dispute_reason)
    record_event(AuditAction.DISCREPANCIES_FETCHED, actor=actor, keyring=keyring, at=now,
                 subjects=sorted({i.cpid for i in items if i.cpid}),
                 context={"source": source, "items": len(items), "total": total, **paging, **filters.chosen(),
                          **({"reasons_opened": opened} if opened else {}), **(context or {})})
    return Report(total, items)


def _open_items(source: str, filters: Filters) -> QuerySet[Discrepancy]:
    items = Discrepancy.objects.filter(source=source, closed_at__isnull=True)
    for name, value in filters.chosen().items():
        items = items.filter(**{name: value})
    return items


def count(source: str, filters: Filters = EVERY_ITEM) -> int:
    return _open_items(source, filters).count()


def fields(source: str) -> list[str]:
    """The fields the source's open items are about, for a filter's choices."""
    return sorted(_open_items(source, EVERY_ITEM).order_by().values_list("field", flat=True).distinct())


def report(source: str, *, keyring: KeyRing, filters: Filters = EVERY_ITEM, offset: int = 0,
           limit: int | None = None, reader: User | None = None) -> list[ReportItem]:
    """The source's open items, oldest first, as it will read them (not audited: ``fetch_report`` is what callers
    use); for ``reader``, a data manager, with what they may see besides."""
    rows = (_open_items(source, filters).select_related("record", "child", "dispute_child")
            .order_by("opened_at", "id"))
    rows = rows[offset:offset + limit] if limit is not None else rows[offset:]
    la = _managing_la(reader)
    return [_item(d, keyring, la) for d in rows]


def _managing_la(reader: User | None) -> str | None:
    if reader is None or not reader.has(Permission.LA_DISCREPANCIES):
        return None
    return reader.organisation.la_code or None


def _item(d: Discrepancy, keyring: KeyRing, la: str | None = None) -> ReportItem:
    child: Child = d.child
    cipher = cipher_for(keyring, child)
    theirs = open_payload(cipher, d.record)
    if d.kind == Discrepancy.Kind.INVALID:
        message = _invalid_message(d.field, d.reason)
    else:
        best = load_groups(keyring, child, ["names", "birth"], cipher) if not child.shielded else {}
        message = _message(d.field, best, child.shielded)
    cpid = reason = ""
    if la is not None:
        own = child.responsible_la == la
        if child.status == ChildStatus.LIVE and (own or not child.shielded):
            cpid = child.cpid
        if own and d.state == Discrepancy.State.DISPUTED:
            reason = _open_reason(keyring, d)
    return ReportItem(d.pk, theirs.source_record_id, d.field, message, d.opened_at.date(), d.kind, d.state,
                      d.answered_at.date() if d.answered_at else None, d.answered_by, cpid, reason)


# --- a source's answers -----------------------------------------------------------------------------------------


def acknowledge(source: str, item_id: int, *, actor: Actor, keyring: KeyRing, now: datetime,
                context: Mapping[str, Any] | None = None) -> ReportItem:
    """The source has seen item ``item_id`` and will correct its record. The item stays open until it does."""
    return _answer(source, item_id, Discrepancy.State.ACKNOWLEDGED, "", actor=actor, keyring=keyring, now=now,
                   context=context)


def dispute(source: str, item_id: int, reason: str | None, *, actor: Actor, keyring: KeyRing, now: datetime,
            context: Mapping[str, Any] | None = None) -> ReportItem:
    """The source says its value is right, and why. The item stays open (until the data agrees or the value is
    corrected); the reason is sealed and shown only to the data managers of the child's local authority."""
    reason = " ".join((reason or "").split())
    if not reason:
        raise ValidationError("reason", "say why your value is right")
    if len(reason) > REASON_MAX:
        raise ValidationError("reason", f"a reason is at most {REASON_MAX} characters")
    return _answer(source, item_id, Discrepancy.State.DISPUTED, reason, actor=actor, keyring=keyring, now=now,
                   context=context)


def _answer(source: str, item_id: int, state: Discrepancy.State, reason: str, *, actor: Actor, keyring: KeyRing,
            now: datetime, context: Mapping[str, Any] | None) -> ReportItem:
    action = (AuditAction.DISCREPANCY_DISPUTED if state == Discrepancy.State.DISPUTED
              else AuditAction.DISCREPANCY_ACKNOWLEDGED)
    known = 0 < item_id < _MAX_ID
    with transaction.atomic():
        d = (Discrepancy.objects.select_for_update(of=("self",)).select_related("record", "child")
             .filter(pk=item_id, source=source).first() if known else None)
        if d is not None and d.closed_at is None:
            d.state, d.answered_at, d.answered_by = state, now, actor.name
            if reason:
                d.dispute_child = d.child
                d.dispute_reason = cipher_for(keyring, d.child).seal(_reason_field(d), reason.encode())
            else:
                d.dispute_child, d.dispute_reason = None, b""
            d.save(update_fields=["state", "answered_at", "answered_by", "dispute_child", "dispute_reason"])
            record_event(action, actor=actor, keyring=keyring, at=now, subjects=[d.child.cpid],
                         context={"source": source, "item": d.pk, "field": d.field, "kind": d.kind,
                                  **(context or {})},
                         detail={"reason": reason} if reason else None)
            return _item(d, keyring)
    # Absent, another source's (answered as if absent) or closed: refused, and audited.
    closed = d is not None
    record_event(action, actor=actor, keyring=keyring, at=now, outcome=Outcome.REFUSED,
                 context={"source": source, **({"item": item_id} if known else {}),
                          "why": "closed" if closed else "no such item", **(context or {})})
    if closed:
        raise ValidationError("item", "this item has closed (the data now agrees, or the value was corrected): "
                                      "there is nothing left to answer")
    raise NotFound(NO_SUCH_ITEM)


def _reason_field(d: Discrepancy) -> str:
    return f"discrepancy-dispute:{d.pk}"


def _open_reason(keyring: KeyRing, d: Discrepancy) -> str:
    if d.dispute_child is None or not d.dispute_reason:
        return ""  # the child whose key sealed it is gone
    return cipher_for(keyring, d.dispute_child).open(_reason_field(d), bytes(d.dispute_reason)).decode()


def _invalid_message(field: str, reason: str) -> str:
    if field == ENCODING:  # nothing was lost, but the letters of a name may have been read wrongly
        return f"Your record was taken, but {reason}."
    what = FIELD_WORDS.get(field, field.replace("_", " "))
    return (f"Your record was taken without its {what}: {reason}. Please correct it and send the record "
            "again.")


def _message(field: str, best: dict, shielded: bool) -> str:
    what = FIELD_WORDS[field]
    base = f"Your record's {what} differs from the {what} other sources hold for this child. Please check it."
    if field in _NO_VALUE or shielded:
        return base  # never pass one source's identifier to another, nor anything of a shielded child's
    if field == "date_of_birth" and best.get("date_of_birth"):
        return f"{base} Others hold {best['date_of_birth'].value.isoformat()}."
    if field == "gender" and best.get("gender"):
        return f"{base} Others hold {best['gender'].value.value}."
    if field == "name" and best.get("name"):
        name = best["name"].value
        return f"{base} Others hold {name.given} {name.family}."
    return base
