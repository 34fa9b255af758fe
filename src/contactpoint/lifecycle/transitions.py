"""The four moves of a record: archive, seal, restore, delete. Each is one small transaction that writes its own
audit entry, and each is a no-op when the record has already moved (so a run killed part-way and run again
neither repeats nor skips anything).

    live ──archive──► archived ──seal (1 year)──► sealed ──delete (6 years after archiving)──► gone
      ▲                  │                          │
      └────restore───────┴──────────────────────────┘   (a child back in England within 3 years)
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.db import transaction

from contactpoint.audit.actions import AuditAction
from contactpoint.audit.trail import Actor, record_event
from contactpoint.children.models import Child, ChildStatus
from contactpoint.children.store import cipher_for, load_record, reindex, shred
from contactpoint.dates import anniversary, first_of_month
from contactpoint.lifecycle import retention
from contactpoint.lifecycle.common import seal, unseal
from contactpoint.lifecycle.models import Archive
from contactpoint.vault.keyring import KeyRing
from contactpoint.vault.models import IndexEntry

VISIBLE_YEARS = 1  # archived records stay visible to the responsible authority's data managers this long
RETAINED_YEARS = 6  # then sealed; deleted this many years after archiving (regulation 4; seed, question 231719)


class Reason:
    AGE = "age"
    AGE_25 = "age_25"
    DEATH = "death"
    CONSENT_WITHDRAWN = "consent_withdrawn"
    LEFT_ENGLAND = "left_england"
    NEW_IDENTITY = "new_identity"


REASON_WORDS = {
    Reason.AGE: "Reached 18", Reason.AGE_25: "Reached 25 (stayed with consent)", Reason.DEATH: "Death notified",
    Reason.CONSENT_WITHDRAWN: "Consent to stay withdrawn after 18", Reason.LEFT_ENGLAND: "Left England",
    Reason.NEW_IDENTITY: "Given a new identity",
}


def _locked(child_id: int) -> Child | None:
    return Child.objects.select_for_update().filter(pk=child_id).first()


def archive_info(keyring: KeyRing, child: Child, cipher=None) -> dict[str, Any]:
    row = Archive.objects.get(child=child)
    return unseal(cipher or cipher_for(keyring, child), "archive", str(child.pk), bytes(row.payload))


def archive(keyring: KeyRing, child: Child, *, on: date, reason: str, actor: Actor, now: datetime,
            extra: dict[str, Any] | None = None, sealed: bool = False) -> bool:
    """Take a live record out of use from ``on``: out of every search (its index rows go), its data key under
    the retention KEK of its deletion month. ``sealed`` seals it at once (a new identity). Returns False if the
    record was not live any more."""
    with transaction.atomic():
        locked = _locked(child.pk)
        if locked is None or locked.status != ChildStatus.LIVE:
            return False
        child = locked
        cipher = cipher_for(keyring, child)
        delete_on = anniversary(on, RETAINED_YEARS)
        payload = {"on": on, "reason": reason, **(extra or {})}
        Archive.objects.update_or_create(child=child, defaults={
            "delete_month": first_of_month(delete_on), "payload": seal(cipher, "archive", str(child.pk), payload)})
        IndexEntry.objects.filter(child_id=child.pk).delete()
        for held in (child, *Child.objects.filter(merged_into=child)):  # records merged into it go with it
            retention.hold_until(keyring, held, first_of_month(delete_on))
        child.status = ChildStatus.SEALED if sealed else ChildStatus.ARCHIVED
        child.archived_month = first_of_month(on)
        child.review_month = first_of_month(delete_on if sealed else anniversary(on, VISIBLE_YEARS))
        child.save(update_fields=["status", "archived_month", "review_month"])
        record_event(AuditAction.ARCHIVED, actor=actor, keyring=keyring, at=now, subjects=[child.cpid],
                     context={"sealed_at_once": sealed}, detail={"reason": reason, "on": on.isoformat()})
        if sealed:
            record_event(AuditAction.SEALED, actor=actor, keyring=keyring, at=now, subjects=[child.cpid])
    return True


def seal_record(keyring: KeyRing, child: Child, *, actor: Actor, now: datetime) -> bool:
    with transaction.atomic():
        locked = _locked(child.pk)
        if locked is None or locked.status != ChildStatus.ARCHIVED:
            return False
        child = locked
        delete_month = Archive.objects.values_list("delete_month", flat=True).get(child=child)
        child.status = ChildStatus.SEALED
        child.review_month = delete_month
        child.save(update_fields=["status", "review_month"])
        record_event(AuditAction.SEALED, actor=actor, keyring=keyring, at=now, subjects=[child.cpid])
    return True


def restore(keyring: KeyRing, child: Child, *, actor: Actor, now: datetime, live_until: date) -> bool:
    """Back to live use (a child who left England came back within 3 years): searchable again, its data key
    back under the active KEK."""
    with transaction.atomic():
        locked = _locked(child.pk)
        if locked is None or locked.status not in (ChildStatus.ARCHIVED, ChildStatus.SEALED):
            return False
        child = locked
        for held in (child, *Child.objects.filter(merged_into=child)):
            retention.release(keyring, held)
        Archive.objects.filter(child=child).delete()
        child.status = ChildStatus.LIVE
        child.archived_month = None
        child.review_month = first_of_month(live_until)
        child.save(update_fields=["status", "archived_month", "review_month"])
        reindex(keyring, child, load_record(keyring, child))
        record_event(AuditAction.RESTORED, actor=actor, keyring=keyring, at=now, subjects=[child.cpid])
    return True


def delete(keyring: KeyRing, child: Child, *, actor: Actor, now: datetime) -> bool:
    """Crypto-shredding: the data key, index rows, source records, practitioners' entries and every lifecycle
    row go; the audit trail keeps the ContactPoint ID and nothing else (its sealed details were sealed under
    audit keys that expire on their own). Records merged into this one go with it."""
    with transaction.atomic():
        locked = _locked(child.pk)
        if locked is None or locked.status != ChildStatus.SEALED:
            return False
        child = locked
        absorbed = list(Child.objects.filter(merged_into=child))
        gone = [child.cpid, *(a.cpid for a in absorbed)]
        for other in absorbed:
            shred(other)
        shred(child)
        record_event(AuditAction.DELETED, actor=actor, keyring=keyring, at=now, subjects=gone,
                     context={"merged_records": len(absorbed)})
    return True
