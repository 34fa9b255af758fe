"""The archive as data managers see it (DESIGN.md section 1 "Retention").

- Archived records stay visible to data managers of the responsible authority for one year, each look with a
  reason and audited; they are out of every search.
- Sealed records are opened only for a child protection enquiry, a serious case review or a child death review,
  on the request of one authorised officer and the approval of a second; the opening lasts
  ``OPEN_DAYS`` and every look is audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.db import transaction

from contactpoint.access.authentication import user_actor
from contactpoint.access.models import User
from contactpoint.access.roles import Permission
from contactpoint.audit.actions import AuditAction, Severity
from contactpoint.audit.trail import record_event
from contactpoint.children.models import Child, ChildStatus
from contactpoint.children.store import cipher_for, load_groups
from contactpoint.errors import LifecycleError, NotFound, ValidationError
from contactpoint.lifecycle.common import authority_child, new_key, require, seal, unseal
from contactpoint.lifecycle.models import SealedOpening
from contactpoint.lifecycle.transitions import REASON_WORDS, archive_info
from contactpoint.records.view import RecordView, build_view
from contactpoint.vault.keyring import KeyRing

OPEN_DAYS = 7
REASON_MIN = 10


@dataclass(frozen=True)
class ArchivedEntry:
    cpid: str
    name: str
    date_of_birth: date
    archived_on: date
    reason: str


def _reason_text(text: str) -> str:
    text = (text or "").strip()
    if len(text) < REASON_MIN:
        raise ValidationError("reason", f"say in at least {REASON_MIN} characters why you need this record")
    if len(text) > 500:
        raise ValidationError("reason", "say why in 500 characters or fewer")
    return text


def archived_records(user: User, *, keyring: KeyRing, now: datetime) -> list[ArchivedEntry]:
    """The authority's archived (not yet sealed) records, newest first. Listing decrypts names: audited."""
    require(user, Permission.LA_ARCHIVE_VIEW, "Your role does not include the archive.")
    la = user.organisation.la_code
    out = []
    for child in Child.objects.filter(responsible_la=la, status=ChildStatus.ARCHIVED).order_by("-archived_month"):
        cipher = cipher_for(keyring, child)
        groups = load_groups(keyring, child, ["names", "birth"], cipher)
        info = archive_info(keyring, child, cipher)
        out.append(ArchivedEntry(child.cpid, groups["name"].value.display, groups["date_of_birth"].value,
                                 date.fromisoformat(info["on"]), REASON_WORDS.get(info["reason"], info["reason"])))
    out.sort(key=lambda e: (e.archived_on, e.cpid), reverse=True)
    if out:
        record_event(AuditAction.RECORD_VIEWED, actor=user_actor(user), keyring=keyring, at=now,
                     subjects=[e.cpid for e in out], reason="records management",
                     context={"page": "archive list", "status": "archived"})
    return out


def view_archived(user: User, cpid: str, reason: str, *, keyring: KeyRing,
                  now: datetime) -> tuple[RecordView, dict[str, Any]]:
    require(user, Permission.LA_ARCHIVE_VIEW, "Your role does not include the archive.")
    reason = _reason_text(reason)
    child = authority_child(user, cpid, statuses=(ChildStatus.ARCHIVED,))
    view = build_view(user, child, keyring=keyring, overridden=child.shielded and user.has(
        Permission.LA_SHIELD_HIDDEN_VIEW), today=now.date())
    info = archive_info(keyring, child)
    record_event(AuditAction.RECORD_VIEWED, actor=user_actor(user), keyring=keyring, at=now, subjects=[cpid],
                 reason="records management", context={"status": "archived", "shielded": child.shielded},
                 detail={"reason_text": reason})
    return view, info


# --- sealed records ------------------------------------------------------------------------------------------

def request_opening(user: User, cpid: str, purpose: str, details: str, *, keyring: KeyRing,
                    now: datetime) -> SealedOpening:
    require(user, Permission.LA_SEALED_OPEN, "Your role does not include opening sealed records.")
    try:
        purpose = SealedOpening.Purpose(purpose)
    except ValueError:
        raise ValidationError("purpose", "choose a child protection enquiry, a serious case review or a child "
                                         "death review: sealed records are opened for nothing else") from None
    details = _reason_text(details)
    with transaction.atomic():
        child = authority_child(user, cpid, statuses=(ChildStatus.SEALED,), lock=True)
        key = new_key()
        opening = SealedOpening.objects.create(
            key=key, child=child, responsible_la=child.responsible_la, purpose=purpose, requested_by=user,
            requested_at=now, payload=seal(cipher_for(keyring, child), "opening", key, {"details": details}))
        record_event(AuditAction.SEALED_OPEN_REQUESTED, actor=user_actor(user), keyring=keyring, at=now,
                     subjects=[cpid], reason=purpose.value, context={"opening": key})
    return opening


def opening_for(user: User, pk: int) -> SealedOpening:
    require(user, Permission.LA_SEALED_OPEN, "Your role does not include opening sealed records.")
    opening = SealedOpening.objects.select_related("child", "requested_by", "decided_by").filter(pk=pk).first()
    if opening is None or opening.responsible_la != user.organisation.la_code:
        raise NotFound("There is no request with that number for your local authority.")
    return opening


def opening_details(keyring: KeyRing, opening: SealedOpening) -> str:
    return unseal(cipher_for(keyring, opening.child), "opening", opening.key, bytes(opening.payload))["details"]


def decide_opening(user: User, pk: int, *, approve: bool, keyring: KeyRing, now: datetime) -> SealedOpening:
    """The second officer's decision. Whoever asked cannot approve their own request."""
    with transaction.atomic():
        opening = opening_for(user, pk)
        opening = SealedOpening.objects.select_for_update().select_related("child").get(pk=opening.pk)
        if opening.status != SealedOpening.Status.REQUESTED:
            raise LifecycleError("This request has already been decided.")
        if opening.requested_by_id == user.pk:
            raise LifecycleError("A second authorised officer must decide: you made this request.")
        if opening.child.status != ChildStatus.SEALED:
            raise LifecycleError("This record is no longer sealed.")
        opening.decided_by, opening.decided_at = user, now
        if approve:
            opening.status = SealedOpening.Status.APPROVED
            opening.open_until = now + timedelta(days=OPEN_DAYS)
        else:
            opening.status = SealedOpening.Status.REFUSED
        opening.save(update_fields=["status", "decided_by", "decided_at", "open_until"])
        record_event(AuditAction.SEALED_OPENED if approve else AuditAction.SEALED_OPEN_REFUSED,
                     actor=user_actor(user), keyring=keyring, at=now, subjects=[opening.child.cpid],
                     reason=opening.purpose, severity=Severity.WARNING if approve else Severity.INFO,
                     context={"opening": opening.key, "requested_by": opening.requested_by.username})
    return opening


def is_open(opening: SealedOpening, user: User, now: datetime) -> bool:
    return (opening.status == SealedOpening.Status.APPROVED and opening.open_until is not None
            and now < opening.open_until and user.pk in (opening.requested_by_id, opening.decided_by_id)
            and opening.child.status == ChildStatus.SEALED)


def view_sealed(user: User, pk: int, *, keyring: KeyRing, now: datetime) -> tuple[RecordView, dict[str, Any]]:
    """The whole sealed record (hidden fields included) for the two officers of an approved opening, while it
    lasts. Each look is audited."""
    opening = opening_for(user, pk)
    if not is_open(opening, user, now):
        raise LifecycleError("This sealed record is not open to you: it needs an approved request, which lasts "
                             f"{OPEN_DAYS} days.")
    child = opening.child
    view = build_view(user, child, keyring=keyring, overridden=child.shielded, today=now.date())
    info = archive_info(keyring, child)
    record_event(AuditAction.RECORD_VIEWED, actor=user_actor(user), keyring=keyring, at=now,
                 subjects=[child.cpid], reason=opening.purpose, severity=Severity.WARNING,
                 context={"status": "sealed", "opening": opening.key})
    return view, info


def openings(la: str, *, status: str | None = None) -> list[SealedOpening]:
    query = SealedOpening.objects.filter(responsible_la=la).select_related("child", "requested_by", "decided_by")
    if status:
        query = query.filter(status=status)
    return list(query.order_by("-requested_at", "-pk"))
