"""Discrepancies flagged back to sources (seed: "where these occur, they will be identified and flagged back to
the source for correction").

Whenever a child's best view is rebuilt, the set of (source record, field) disagreements is compared with the
open items: new disagreements open an item for the record's source, items whose source now agrees (or no
longer holds the record) close themselves. The report a source fetches is worked out from the records at that
moment and never reveals a shielded child's whereabouts, nor any identifier from another source.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from contactpoint import bulk
from contactpoint.audit.actions import AuditAction
from contactpoint.audit.trail import Actor, record_event
from contactpoint.bestview.models import Discrepancy
from contactpoint.children.models import Child, SourceRecord
from contactpoint.children.source_records import open_payload
from contactpoint.children.store import cipher_for, load_groups
from contactpoint.vault.keyring import KeyRing

FIELD_WORDS = {"date_of_birth": "date of birth", "name": "name", "nhs_number": "NHS number", "gender": "gender"}


def sync_discrepancies(current: Mapping[int, frozenset[tuple[str, str]]], *, now: datetime) -> tuple[int, int]:
    """Open and close items for the children in ``current`` (child ID -> its disagreements). Returns (opened,
    closed)."""
    if not current:
        return 0, 0
    open_items: list[Discrepancy] = []
    for q in bulk.any_of("child_id", list(current)):
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


def sync_invalid(flags: Mapping[int, tuple[int, str, frozenset[tuple[str, str]]]], *, now: datetime) -> tuple[int, int]:
    """Open and close the wrong-or-missing-value items of the source records in ``flags`` (record ID -> (its
    child, its source, the (field, reason) of each value it was taken without)): called for each record a feed
    has just sent, new or changed. Returns (opened, closed)."""
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


@dataclass(frozen=True)
class ReportItem:
    source_record_id: str  # the source's own ID for its record
    field: str
    message: str
    opened: date


def fetch_report(source: str, *, actor: Actor, keyring: KeyRing, now: datetime,
                 context: Mapping[str, Any] | None = None) -> list[ReportItem]:
    """The source's open items, audited as fetched by ``actor`` (who must already be allowed to read them): the
    one fetch behind ``contactpoint discrepancies``, the local authority's page and the source's API call.
    ``context`` adds to the audit entry (``{"api": True}`` for the API)."""
    items = report(source, keyring=keyring)
    record_event(AuditAction.DISCREPANCIES_FETCHED, actor=actor, keyring=keyring, at=now,
                 context={"source": source, "items": len(items), **(context or {})})
    return items


def report(source: str, *, keyring: KeyRing) -> list[ReportItem]:
    """The source's open items, as it will read them (not audited: ``fetch_report`` is what callers use)."""

    items = []
    open_items = (Discrepancy.objects.filter(source=source, closed_at__isnull=True)
                  .select_related("record", "child").order_by("opened_at", "id"))
    for d in open_items:
        child: Child = d.child
        cipher = cipher_for(keyring, child)
        theirs = open_payload(cipher, d.record)
        best = load_groups(keyring, child, ["names", "birth"], cipher)
        message = (_invalid_message(d.field, d.reason) if d.kind == Discrepancy.Kind.INVALID
                   else _message(d.field, best, child.shielded))
        items.append(ReportItem(theirs.source_record_id, d.field, message, d.opened_at.date()))
    return items


def _invalid_message(field: str, reason: str) -> str:
    what = FIELD_WORDS.get(field, field.replace("_", " "))
    return (f"Your record was taken without its {what}: {reason}. Please correct it and send the record "
            "again.")


def _message(field: str, best: dict, shielded: bool) -> str:
    what = FIELD_WORDS[field]
    base = f"Your record's {what} differs from the {what} other sources hold for this child. Please check it."
    if field == "nhs_number" or shielded:
        return base  # never pass one source's identifier to another, nor anything of a shielded child's
    if field == "date_of_birth" and best.get("date_of_birth"):
        return f"{base} Others hold {best['date_of_birth'].value.isoformat()}."
    if field == "gender" and best.get("gender"):
        return f"{base} Others hold {best['gender'].value.value}."
    if field == "name" and best.get("name"):
        name = best["name"].value
        return f"{base} Others hold {name.given} {name.family}."
    return base
