"""Alerts: raised by the rules, then acknowledged, investigated and resolved by auditors. Every step is written
to the audit trail. An auditor at a local authority sees alerts about users of the organisations in its area;
a national auditor sees every alert, including those about the audit trail itself.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.db.models import Q, QuerySet

from contactpoint.access.authentication import user_actor
from contactpoint.access.models import Organisation, User
from contactpoint.access.roles import OrgKind, Permission
from contactpoint.audit.actions import AuditAction, Severity
from contactpoint.audit.trail import Actor, record_event
from contactpoint.errors import NotFound, PermissionDenied, ValidationError
from contactpoint.monitoring.models import Alert, AlertOutcome, AlertStatus
from contactpoint.monitoring.rules import TITLES, Finding
from contactpoint.vault.keyring import KeyRing

MONITOR = Actor.system("monitor")
NOT_FOUND = "There is no such alert that you can see."
NOTE_MAX = 1000


def raise_alert(finding: Finding, *, keyring: KeyRing, now: datetime) -> tuple[Alert, bool]:
    """Create the alert for ``finding`` (and its ALERT_RAISED entry), or bring an open one's evidence up to
    date. Returns the alert and whether it is new."""
    with transaction.atomic():
        alert = Alert.objects.select_for_update().filter(key=finding.key).first()
        if alert is not None:
            if alert.status != AlertStatus.RESOLVED:
                alert.entries = sorted(set(alert.entries) | set(finding.entries))[-200:]
                alert.subjects = sorted(set(alert.subjects) | set(finding.subjects))[:200]
                alert.evidence = {**alert.evidence, **finding.evidence}
                alert.occurred_at = max(alert.occurred_at, finding.occurred_at)
                alert.save(update_fields=["entries", "subjects", "evidence", "occurred_at"])
            return alert, False
        alert = Alert.objects.create(
            key=finding.key, rule=finding.rule, title=TITLES[finding.rule], severity=finding.severity,
            subject_user=finding.subject_user, subject_org=finding.subject_org, evidence=finding.evidence,
            entries=sorted(finding.entries)[-200:], subjects=sorted(set(finding.subjects))[:200],
            occurred_at=finding.occurred_at, raised_at=now)
        entry = record_event(
            AuditAction.ALERT_RAISED, actor=MONITOR, keyring=keyring, at=now, severity=Severity.ALERT,
            target_user=finding.subject_user, subjects=alert.subjects[:50],
            context={"alert": alert.pk, "rule": str(finding.rule), "organisation": finding.subject_org,
                     "entries": alert.entries[-20:]}, linked=True)
        Alert.objects.filter(pk=alert.pk).update(raised_seq=entry.seq)
        alert.raised_seq = entry.seq
        return alert, True


# --- scope --------------------------------------------------------------------------------------------------

def organisations_in_area(auditor: User) -> QuerySet[Organisation]:
    """The auditor's local authority, the bodies it vouched for and the bodies working in its area."""
    own = auditor.organisation
    local = Q(pk=own.pk) | Q(vouched_by=own)
    if own.la_code:
        local |= Q(la_code=own.la_code) & ~Q(kind__in=[OrgKind.NATIONAL_PARTNER, OrgKind.OPERATOR])
    return Organisation.objects.filter(local)


def is_national(auditor: User) -> bool:
    return auditor.has(Permission.AUDIT_NATIONAL)


def alerts_in_scope(auditor: User) -> QuerySet[Alert]:
    if not auditor.has(Permission.AUDIT_ALERTS):
        raise PermissionDenied("Only auditors can see alerts.")
    if is_national(auditor):
        return Alert.objects.all()
    codes = organisations_in_area(auditor).values_list("code", flat=True)
    return Alert.objects.filter(subject_org__in=list(codes))


def users_in_area(auditor: User) -> QuerySet[User]:
    if is_national(auditor):
        return User.objects.all()
    return User.objects.filter(organisation__in=organisations_in_area(auditor))


def alert_for(auditor: User, pk: int) -> Alert:
    alert = alerts_in_scope(auditor).filter(pk=pk).first()
    if alert is None:
        raise NotFound(NOT_FOUND)
    return alert


# --- auditors' actions --------------------------------------------------------------------------------------

def _audit(action: AuditAction, auditor: User, alert: Alert, keyring: KeyRing, now: datetime, *,
           detail: dict | None = None, **context) -> int:
    entry = record_event(action, actor=user_actor(auditor), keyring=keyring, at=now, target_user=alert.subject_user,
                         subjects=alert.subjects[:50], context={"alert": alert.pk, "rule": alert.rule, **context},
                         detail=detail, linked=True)
    return entry.seq


def investigate(auditor: User, pk: int, *, keyring: KeyRing, now: datetime) -> Alert:
    """Open an alert's evidence (recorded: who looked at what is itself auditable)."""
    alert = alert_for(auditor, pk)
    _audit(AuditAction.ALERT_INVESTIGATED, auditor, alert, keyring, now)
    return alert


def acknowledge(auditor: User, pk: int, *, keyring: KeyRing, now: datetime) -> Alert:
    with transaction.atomic():
        alert = alert_for(auditor, pk)
        if alert.status != AlertStatus.OPEN:
            raise ValidationError("alert", "this alert has already been acknowledged")
        alert.status, alert.acknowledged_by, alert.acknowledged_at = AlertStatus.ACKNOWLEDGED, auditor.username, now
        alert.save(update_fields=["status", "acknowledged_by", "acknowledged_at"])
        _audit(AuditAction.ALERT_ACKNOWLEDGED, auditor, alert, keyring, now)
    return alert


def resolve(auditor: User, pk: int, *, outcome: str, note: str, keyring: KeyRing, now: datetime) -> Alert:
    """Close an alert with an outcome. The note may name people, so it is kept only in the audit entry's
    encrypted detail."""
    try:
        outcome = AlertOutcome(outcome)
    except ValueError:
        raise ValidationError("outcome", "choose what the investigation found") from None
    note = (note or "").strip()
    if len(note) < 10:
        raise ValidationError("note", "say in at least 10 characters what you found")
    if len(note) > NOTE_MAX:
        raise ValidationError("note", f"say what you found in {NOTE_MAX} characters or fewer")
    with transaction.atomic():
        alert = alert_for(auditor, pk)
        if alert.status == AlertStatus.RESOLVED:
            raise ValidationError("alert", "this alert has already been resolved")
        if alert.status == AlertStatus.OPEN:  # resolving is also acknowledging
            alert.acknowledged_by, alert.acknowledged_at = auditor.username, now
        alert.status, alert.outcome = AlertStatus.RESOLVED, outcome
        alert.resolved_by, alert.resolved_at = auditor.username, now
        alert.resolved_seq = _audit(AuditAction.ALERT_RESOLVED, auditor, alert, keyring, now,
                                    detail={"note": note}, outcome_found=str(outcome))
        alert.save(update_fields=["status", "outcome", "resolved_by", "resolved_at", "resolved_seq",
                                  "acknowledged_by", "acknowledged_at"])
    return alert
