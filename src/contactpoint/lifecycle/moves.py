"""Moves between local authorities (issue 19): hand-over notices, and a shielded child's new area kept secret.

    feed reports a postcode in another authority
        │ not shielded ─► Child.responsible_la changes ─► HandOver: both authorities' teams are told
        │ shielded ─────► nothing changes anywhere ─────► MoveReport on the keeping authority's work list
        │                                                   ├─ hand over (data manager) ─► HandOver
        │                                                   └─ keep ──────────────────────► closed

Why a shielded child's authority does not follow the feed: shielding withholds everything that could reveal
whereabouts from every output (DESIGN.md section 1). The responsible authority is shown on the record, in the
API, in FHIR, steers discrepancy reports and notices; a child moved to a refuge would have its new area shown
by all of them. So the keeping authority stays responsible until its own team decides.

Who may learn the reported authority: only the keeping authority's data managers who may see a shielded
record's hidden fields (``LA_SHIELD_HIDDEN_VIEW``, the same people ``shielding.view_hidden`` lets see the
address), one look at a time, each audited as a warning for the auditors' monitoring. The work-list item itself
says only that a move was reported. The audit trail never holds the reported authority: it is sealed with the
child's data key in the report. Once the team hands the child over, the new authority is responsible (and
must know); the hand-over notice then names both authorities to both teams.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q

from contactpoint.access.authentication import user_actor
from contactpoint.access.models import User
from contactpoint.access.roles import Permission
from contactpoint.audit.actions import AuditAction, Severity
from contactpoint.audit.trail import Actor, record_event
from contactpoint.children.models import Child, ChildStatus
from contactpoint.children.store import cipher_for
from contactpoint.errors import LifecycleError, NotFound
from contactpoint.lifecycle.common import new_key, require, seal, unseal
from contactpoint.lifecycle.models import HandOver, HandOverSeen, MoveReport
from contactpoint.vault.cipher import ChildCipher
from contactpoint.vault.keyring import KeyRing

log = logging.getLogger(__name__)

KIND = "move"
NOT_FOUND = "There is no reported move with that number for your local authority."
EMAIL_SUBJECT = "A child has been handed over in ContactPoint"
# No child details, and not the authorities either (email leaves the secure system).
EMAIL_BODY = ("Responsibility for a child has moved between local authorities.\n\n"
              "Sign in to ContactPoint and open 'Moves and hand-overs' to see it.\n\n"
              "This email is sent automatically. Do not reply to it.\n")


@dataclass(frozen=True)
class Moved:
    """A child whose responsible authority a feed would change: ``cipher`` seals a shielded child's report."""

    child_id: int
    cpid: str
    shielded: bool
    from_la: str
    to_la: str
    cipher: ChildCipher | None = None


def feed_moves(moves: Sequence[Moved], *, source: str, actor: Actor, keyring: KeyRing, now: datetime) -> list[int]:
    """What a feed's reported moves do: the IDs of the children whose responsible authority is to change (the
    caller writes it); for each, a hand-over notice. A shielded child is not among them: its move is reported,
    sealed, to the keeping authority alone (one open report per child; a newer report replaces the area)."""
    changed = []
    for move in moves:
        if move.shielded:
            _report(move, source=source, actor=actor, keyring=keyring, now=now)
            continue
        changed.append(move.child_id)
        _hand_over(move.child_id, move.cpid, move.from_la, move.to_la, how=HandOver.How.FEED, by=None,
                   actor=actor, keyring=keyring, now=now)
    return changed


def _report(move: Moved, *, source: str, actor: Actor, keyring: KeyRing, now: datetime) -> None:
    assert move.cipher is not None
    report = MoveReport.objects.filter(child_id=move.child_id, status=MoveReport.Status.OPEN).first()
    if report is None:
        report = MoveReport(key=new_key(), child_id=move.child_id, responsible_la=move.from_la, reported_at=now)
    report.responsible_la, report.reported_at = move.from_la, now
    report.payload = seal(move.cipher, KIND, report.key, {"la": move.to_la, "source": source})
    report.save()
    # The audit entry says only that a move was reported: not where to.
    record_event(AuditAction.MOVE_REPORTED, actor=actor, keyring=keyring, at=now, subjects=[move.cpid],
                 context={"report": report.key, "responsible_la": move.from_la})


def _team(la: str) -> list[User]:
    """The ContactPoint team (data managers) of an authority, as ``records.involvements.on_la_team`` sees it."""
    users = User.objects.filter(organisation__la_code=la, is_active=True).select_related("organisation")
    return [u for u in users if u.has(Permission.LA_LIFECYCLE_MANAGE)]


def _hand_over(child_id: int, cpid: str, from_la: str, to_la: str, *, how: str, by: User | None, actor: Actor,
               keyring: KeyRing, now: datetime) -> HandOver:
    handed = HandOver.objects.create(child_id=child_id, from_la=from_la, to_la=to_la, at=now, how=how,
                                     decided_by=by)
    record_event(AuditAction.HANDED_OVER, actor=actor, keyring=keyring, at=now, subjects=[cpid],
                 context={"hand_over": handed.pk, "from_la": from_la, "to_la": to_la, "how": how})
    recipients = [u.email for la in (from_la, to_la) for u in _team(la) if u.email]
    transaction.on_commit(lambda: _email(recipients))
    return handed


def _email(addresses: Iterable[str]) -> None:
    for address in addresses:
        try:
            send_mail(EMAIL_SUBJECT, EMAIL_BODY, None, [address])
        except Exception:  # the notice is in the service either way; a mail server down must not lose it
            log.exception("hand-over email could not be sent")


# --- the keeping authority's work list ----------------------------------------------------------------------

def open_reports(la: str) -> list[MoveReport]:
    """The authority's reported moves awaiting a decision, oldest first. Says nothing of where to."""
    return list(MoveReport.objects.filter(responsible_la=la, status=MoveReport.Status.OPEN,
                                          child__responsible_la=la, child__status=ChildStatus.LIVE)
                .select_related("child").order_by("reported_at", "pk"))


def _report_for(user: User, pk: int, *, lock: bool = False) -> MoveReport:
    la = user.organisation.la_code
    query = MoveReport.objects.select_for_update() if lock else MoveReport.objects
    report = query.select_related("child").filter(pk=pk, responsible_la=la, status=MoveReport.Status.OPEN).first()
    if report is None or not la or report.child.responsible_la != la or report.child.status != ChildStatus.LIVE:
        raise NotFound(NOT_FOUND)
    return report


def reported_la(user: User, pk: int, *, keyring: KeyRing, now: datetime) -> tuple[MoveReport, str]:
    """The reported move and the authority it reported, for a data manager who may see a shielded record's
    hidden details. Each look is audited as a warning (the auditors' shielded-record monitoring)."""
    require(user, Permission.LA_SHIELD_HIDDEN_VIEW, "Your role does not include seeing shielded details.")
    report = _report_for(user, pk)
    la = unseal(cipher_for(keyring, report.child), KIND, report.key, bytes(report.payload))["la"]
    record_event(AuditAction.MOVE_REPORT_OPENED, actor=user_actor(user), keyring=keyring, at=now,
                 subjects=[report.child.cpid], severity=Severity.WARNING, reason="records management",
                 context={"report": report.key})
    return report, la


def decide(user: User, pk: int, *, hand_over: bool, keyring: KeyRing, now: datetime) -> MoveReport:
    """Hand the child over to the reported authority, or keep them. Handing over changes the responsible
    authority and sends both teams a hand-over notice; keeping closes the report and changes nothing."""
    require(user, Permission.LA_SHIELD_HIDDEN_VIEW, "Your role does not include deciding a shielded child's move.")
    with transaction.atomic():
        report = _report_for(user, pk, lock=True)
        child = Child.objects.select_for_update().get(pk=report.child_id)
        report.status = MoveReport.Status.HANDED_OVER if hand_over else MoveReport.Status.KEPT
        report.decided_by, report.decided_at = user, now
        report.save(update_fields=["status", "decided_by", "decided_at"])
        if not hand_over:
            record_event(AuditAction.MOVE_KEPT, actor=user_actor(user), keyring=keyring, at=now,
                         subjects=[child.cpid], context={"report": report.key})
            return report
        to_la = unseal(cipher_for(keyring, child), KIND, report.key, bytes(report.payload))["la"]
        if to_la == child.responsible_la:
            raise LifecycleError("The reported authority is already responsible for this child.")
        from_la = child.responsible_la
        Child.objects.filter(pk=child.pk).update(responsible_la=to_la)
        _hand_over(child.pk, child.cpid, from_la, to_la, how=HandOver.How.DECISION, by=user,
                   actor=user_actor(user), keyring=keyring, now=now)
    return report


def hand_overs(la: str, *, limit: int = 100) -> list[HandOver]:
    """Hand-over notices for this authority (children handed to it, or from it), newest first."""
    return list(_of(la).select_related("child").order_by("-at", "-pk")[:limit])


def _of(la: str):
    return HandOver.objects.filter(Q(from_la=la) | Q(to_la=la))


def unread_hand_overs(user: User) -> int:
    """How many of the user's authority's hand-over notices arrived since they last opened "Moves and
    hand-overs" (every one, if they never have)."""
    la = user.organisation.la_code
    if not la or not user.has(Permission.LA_LIFECYCLE_MANAGE):
        return 0
    seen = HandOverSeen.objects.filter(user=user).values_list("last_seen", flat=True).first() or 0
    return _of(la).filter(pk__gt=seen).count()


def mark_hand_overs_read(user: User, shown: Sequence[HandOver], *, now: datetime) -> None:
    """The user has been shown these notices (the page lists the newest): everything up to the newest is read."""
    newest = max((h.pk for h in shown), default=0)
    seen, made = HandOverSeen.objects.get_or_create(user=user, defaults={"last_seen": newest, "seen_at": now})
    if not made and newest > seen.last_seen:
        seen.last_seen, seen.seen_at = newest, now
        seen.save(update_fields=["last_seen", "seen_at"])


def awaiting_decision(la: str) -> int:
    """How many reported moves of the authority's shielded children wait for a decision (a count: no child)."""
    return MoveReport.objects.filter(responsible_la=la, status=MoveReport.Status.OPEN, child__responsible_la=la,
                                     child__status=ChildStatus.LIVE).count()


__all__ = ["Moved", "awaiting_decision", "decide", "feed_moves", "hand_overs", "mark_hand_overs_read",
           "open_reports", "reported_la", "unread_hand_overs"]
