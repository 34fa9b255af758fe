"""Brokering: the local authority ContactPoint team puts a practitioner in touch with a service they cannot see.

A practitioner sees only "a service is involved — contact the local authority ContactPoint team" for a sensitive
service, and nothing of the practitioners on a shielded record (DESIGN.md section 1). Asking to be put in touch
creates a request on the work list of the child's responsible local authority (users holding
``LA_SENSITIVE_MANAGE`` there); the team, who can see the service, contacts both sides and marks the request
brokered or closed. Nothing about the service is ever returned to the practitioner by this module: the team
decides, outside the system, whether and how to connect them.

The practitioner's message and the team's note are sealed with the child's data key; the request row holds only
IDs, codes, a status and timestamps. Every step is audited.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

import orjson
from django.db import transaction

from contactpoint.access.authentication import user_actor
from contactpoint.access.models import User
from contactpoint.access.roles import Permission
from contactpoint.audit.actions import AuditAction
from contactpoint.audit.trail import record_event
from contactpoint.children.models import Child, ChildStatus
from contactpoint.children.store import cipher_for, load_groups
from contactpoint.errors import NotFound, PermissionDenied, ValidationError
from contactpoint.records.involvements import has_viewed
from contactpoint.records.models import BrokeringRequest
from contactpoint.vault.cipher import ChildCipher
from contactpoint.vault.keyring import KeyRing

MESSAGE_MAX = 1000
NOTHING_TO_BROKER = ("Everyone involved with this child is on the record with their contact details: contact them "
                     "directly.")


@dataclass(frozen=True)
class Opened:
    """A request as the local authority team reads it."""

    request: BrokeringRequest
    message: str
    note: str


def _field(key: str) -> str:
    return f"brokering:{key}"


def _seal(cipher: ChildCipher, key: str, message: str, note: str) -> bytes:
    return cipher.seal(_field(key), orjson.dumps({"m": message, "n": note}))


def _open(cipher: ChildCipher, request: BrokeringRequest) -> tuple[str, str]:
    raw = orjson.loads(cipher.open(_field(request.key), bytes(request.payload)))
    return raw["m"], raw["n"]


def _live(cpid: str) -> Child:
    child = Child.objects.filter(cpid=cpid).first()
    if child is None or child.status != ChildStatus.LIVE:
        raise NotFound("There is no child with that ContactPoint ID that you can see.")
    return child


def _kind(keyring: KeyRing, child: Child, cipher: ChildCipher, today) -> str | None:
    if child.shielded:
        return BrokeringRequest.Kind.SHIELDED
    involvements = load_groups(keyring, child, ["involvements"], cipher)["involvements"]
    if any(i.value.sensitive is not None and i.value.active_on(today) for i in involvements):
        return BrokeringRequest.Kind.SENSITIVE
    return None


def request_contact(user: User, cpid: str, message: str, *, keyring: KeyRing, now: datetime) -> BrokeringRequest:
    """Ask the child's local authority team to put ``user`` in touch. One open request per practitioner and child:
    asking again returns the open one (with the newer message)."""
    if not user.has(Permission.CHILD_VIEW):
        raise PermissionDenied("Your role does not include viewing children's records.")
    message = (message or "").strip()
    if len(message) > MESSAGE_MAX:
        raise ValidationError("message", f"the message must be {MESSAGE_MAX} characters or fewer")
    with transaction.atomic():
        child = _live(cpid)
        if not has_viewed(user, cpid):
            raise PermissionDenied("Open the child's record before asking to be put in touch.")
        cipher = cipher_for(keyring, child)
        kind = _kind(keyring, child, cipher, now.date())
        if kind is None:
            raise ValidationError("message", NOTHING_TO_BROKER)
        request = BrokeringRequest.objects.filter(child=child, requested_by=user,
                                                  status=BrokeringRequest.Status.OPEN).first()
        if request is None:
            key = secrets.token_hex(12)
            request = BrokeringRequest.objects.create(
                child=child, key=key, requested_by=user, organisation=user.organisation.code, kind=kind,
                payload=_seal(cipher, key, message, ""), created_at=now)
        else:
            request.payload = _seal(cipher, request.key, message, "")
            request.save(update_fields=["payload"])
        record_event(AuditAction.BROKERING_REQUESTED, actor=user_actor(user), keyring=keyring, at=now,
                     subjects=[cpid], context={"request": request.key, "kind": kind,
                                               "responsible_la": child.responsible_la})
    return request


def _team_la(user: User) -> str:
    if not user.has(Permission.LA_SENSITIVE_MANAGE):
        raise PermissionDenied("Only the local authority ContactPoint team can see requests to be put in touch.")
    la = user.organisation.la_code
    if not la:
        raise PermissionDenied("Your organisation is not a local authority.")
    return la


def work_list(user: User, *, include_done: bool = False) -> list[BrokeringRequest]:
    """Requests about children this user's local authority is responsible for, oldest first. Holds no child data
    (IDs, who asked, when), so listing is not itself a view of a record."""
    la = _team_la(user)
    requests = BrokeringRequest.objects.select_related("child", "requested_by", "requested_by__organisation",
                                                       "handled_by").filter(child__responsible_la=la,
                                                                            child__status=ChildStatus.LIVE)
    if not include_done:
        requests = requests.filter(status=BrokeringRequest.Status.OPEN)
    return list(requests)


def own_requests(user: User, limit: int = 20) -> list[BrokeringRequest]:
    """The requests ``user`` made to be put in touch, newest first, with their status (their home page)."""
    return list(BrokeringRequest.objects.filter(requested_by=user).select_related("child")
                .order_by("-created_at", "-pk")[:limit])


def _request(user: User, pk: int) -> BrokeringRequest:
    la = _team_la(user)
    request = BrokeringRequest.objects.select_related("child", "requested_by", "requested_by__organisation").filter(
        pk=pk, child__responsible_la=la, child__status=ChildStatus.LIVE).first()
    if request is None:  # another authority's request looks exactly like one that does not exist
        raise NotFound("There is no such request on your work list.")
    return request


def open_request(user: User, pk: int, *, keyring: KeyRing, now: datetime) -> Opened:
    """One request with the practitioner's message (decrypted, so audited)."""
    request = _request(user, pk)
    message, note = _open(cipher_for(keyring, request.child), request)
    record_event(AuditAction.BROKERING_OPENED, actor=user_actor(user), keyring=keyring, at=now,
                 subjects=[request.child.cpid], context={"request": request.key})
    return Opened(request, message, note)


def resolve(user: User, pk: int, status: str, note: str, *, keyring: KeyRing, now: datetime) -> BrokeringRequest:
    """Mark a request brokered (the practitioner has been put in touch) or closed (no contact: the young person
    did not agree, or the service declined), with a note for the team's own record."""
    if status not in (BrokeringRequest.Status.BROKERED, BrokeringRequest.Status.CLOSED):
        raise ValidationError("status", "choose whether you put them in touch or closed the request")
    note = (note or "").strip()
    if len(note) > MESSAGE_MAX:
        raise ValidationError("note", f"the note must be {MESSAGE_MAX} characters or fewer")
    with transaction.atomic():
        request = _request(user, pk)
        if request.status != BrokeringRequest.Status.OPEN:
            raise ValidationError("status", "this request has already been dealt with")
        cipher = cipher_for(keyring, request.child)
        message, _ = _open(cipher, request)
        request.payload = _seal(cipher, request.key, message, note)
        request.status, request.handled_by, request.handled_at = status, user, now
        request.save(update_fields=["payload", "status", "handled_by", "handled_at"])
        record_event(AuditAction.BROKERING_RESOLVED, actor=user_actor(user), keyring=keyring, at=now,
                     subjects=[request.child.cpid], target_user=request.requested_by.username,
                     context={"request": request.key, "status": status})
    return request
