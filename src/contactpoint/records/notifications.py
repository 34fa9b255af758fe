"""Practitioners told (issue 18; the signal the Dutch Verwijsindex gives, which ContactPoint never did): when a
practitioner records an involvement with a child, every other practitioner with a current involvement of their
own is told that someone else has started working with the child, and the new practitioner is told that others
already are.

What a notification may reveal is exactly what the recipient would see on opening the record, and no more:
- a shielded child's practitioners are withheld from everyone (DESIGN.md section 1, "Shielding"), so nobody is
  told anything about a shielded child; the local authority's ContactPoint team brokers contact instead;
- a sensitive service is shown to no one but its own practitioner and the local authority team, so recording one
  tells no one, and the new practitioner is not told of others if the only others are sensitive services.
A notification names the child by its row only and holds no child data; who the other practitioner is, the
recipient finds by opening the record with a stated reason (an ordinary, audited view). The email says only
that there is something to see: no name, no ID, no service (email leaves the secure system).

Every notification sent, and every one read, is in the audit trail.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.core.mail import send_mail
from django.db import transaction

from contactpoint.access.authentication import user_actor
from contactpoint.access.models import User
from contactpoint.audit.actions import AuditAction
from contactpoint.audit.trail import record_event
from contactpoint.children.models import Child
from contactpoint.children.record import Involvement
from contactpoint.records.models import Notification
from contactpoint.vault.keyring import KeyRing

log = logging.getLogger(__name__)

EMAIL_SUBJECT = "You have a new notification in ContactPoint"
# No child details: not the name, not the ContactPoint ID, not the service (issue 18).
EMAIL_BODY = ("You have a new notification in ContactPoint.\n\n"
              "Sign in to ContactPoint to see it.\n\n"
              "This email is sent automatically. Do not reply to it.\n")


@dataclass(frozen=True)
class Shown:
    """A notification as its recipient sees it: the child by ContactPoint ID only (to open the record)."""

    pk: int
    cpid: str
    kind: str
    text: str
    created_at: datetime
    unread: bool


def notify_new_involvement(user: User, child: Child, new: Involvement, others: Iterable[tuple[User, Involvement]],
                           *, keyring: KeyRing, now: datetime) -> list[User]:
    """Tell the practitioners concerned that ``user`` recorded involvement ``new`` with ``child``, given the other
    practitioners' recorded involvements (opened); returns who was told. Called inside ``record_involvement``'s
    transaction, so that the notifications, their audit entries and the involvement stand or fall together; the
    emails go only once that transaction has committed."""
    if child.shielded:  # practitioners are withheld on a shielded record: telling anyone would reveal them
        return []
    today = now.date()
    current = [(u, i) for u, i in others if i.active_on(today) and u.is_active]
    told: dict[int, tuple[User, str]] = {}
    if new.sensitive is None:  # a sensitive service is shown to nobody else, so nobody else hears of it
        for other, _ in current:
            told.setdefault(other.pk, (other, Notification.Kind.JOINED))
    if any(i.sensitive is None for _, i in current):  # only others the new practitioner will see on the record
        told[user.pk] = (user, Notification.Kind.OTHERS)
    for recipient, kind in told.values():
        note = Notification.objects.create(recipient=recipient, child=child, kind=kind, created_at=now)
        record_event(AuditAction.NOTIFICATION_SENT, actor=user_actor(user), keyring=keyring, at=now,
                     subjects=[child.cpid], target_user=recipient.username,
                     context={"notification": note.pk, "kind": str(kind)})
    recipients = [r for r, _ in told.values()]
    transaction.on_commit(lambda: _email(recipients))
    return recipients


def _email(recipients: Iterable[User]) -> None:
    for recipient in recipients:
        if not recipient.email:
            continue
        try:
            send_mail(EMAIL_SUBJECT, EMAIL_BODY, None, [recipient.email])
        except Exception:  # the notification is in the service either way; a mail server down must not lose it
            log.exception("notification email could not be sent (user %s)", recipient.pk)


def unread_count(user: User) -> int:
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()


def notifications_for(user: User, *, keyring: KeyRing, now: datetime, limit: int = 50) -> list[Shown]:
    """The user's notifications, newest first; the unread among them are marked read and audited as read."""
    notes = list(Notification.objects.filter(recipient=user).select_related("child").order_by("-created_at", "-pk")
                 [:limit])
    shown = [Shown(n.pk, n.child.cpid, n.kind, Notification.Kind(n.kind).label, n.created_at, n.read_at is None)
             for n in notes]
    unread = [n for n in notes if n.read_at is None]
    if unread:
        with transaction.atomic():
            Notification.objects.filter(pk__in=[n.pk for n in unread]).update(read_at=now)
            record_event(AuditAction.NOTIFICATION_READ, actor=user_actor(user), keyring=keyring, at=now,
                         subjects=sorted({n.child.cpid for n in unread}),
                         context={"notifications": [n.pk for n in unread]})
    return shown
