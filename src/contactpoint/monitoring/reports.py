"""Access reports: who searched for or viewed a child's record, when and why (for subject access requests and
investigations); and everything one user did. Each report is itself recorded (ACCESS_REPORT).

A child's report lists the searches that returned the record and every view, override and involvement entry
naming it, with the stated reason and its free text (decrypted for the auditor). It does not repeat the search
criteria: the child's own details are in their record. CSV exports are safe to open in a spreadsheet: a cell
that a spreadsheet would read as a formula is prefixed with a quote (OWASP "CSV injection").
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

from django.db import connection
from django.db.models import Q, QuerySet, TextField
from django.db.models.functions import Cast

from contactpoint.access.authentication import user_actor
from contactpoint.access.models import User
from contactpoint.access.reasons import LABELS, Reason
from contactpoint.access.roles import Permission
from contactpoint.audit.actions import OUTCOME_LABELS, AuditAction, Outcome, describe
from contactpoint.audit.models import AuditEntry
from contactpoint.audit.trail import read_detail, record_event
from contactpoint.children.identifiers import normalise_contactpoint_id
from contactpoint.children.models import Child
from contactpoint.errors import ContactPointError, NotFound, PermissionDenied
from contactpoint.monitoring.alerts import is_national, users_in_area
from contactpoint.spreadsheets import safe_cell
from contactpoint.vault.keyring import KeyRing

CHILD_ACTIONS = (AuditAction.SEARCH, AuditAction.RECORD_VIEWED, AuditAction.SHIELD_OVERRIDE,
                 AuditAction.INVOLVEMENT_RECORDED, AuditAction.INVOLVEMENT_CHANGED, AuditAction.INVOLVEMENT_ENDED,
                 AuditAction.HIDDEN_FIELDS_VIEWED)
CHILD_NOT_FOUND = "There is no child with that ContactPoint ID in your area's audit records."
USER_NOT_FOUND = "There is no user with that username in your area."


@dataclass(frozen=True)
class Row:
    seq: int
    at: datetime
    username: str
    organisation: str
    role: str
    action: str
    what: str
    outcome: str
    reason: str
    reason_text: str
    subjects: tuple[str, ...]


def reason_label(code: str) -> str:
    try:
        return LABELS[Reason(code)]
    except ValueError:
        return code


def what(entry: AuditEntry, about_child: bool = False) -> str:
    """The entry in words. A search in a child's report returned that child; in a user's report it says how
    many children it found, which may be none."""
    if entry.action != AuditAction.SEARCH:
        return describe(entry.action)
    if about_child:
        return "Searched: the record was in the results"
    found = len(entry.subjects or ())
    return "Searched: no child found" if not found else \
        f"Searched: {found} {'child' if found == 1 else 'children'} found"


def outcome_label(code: str) -> str:
    try:
        return OUTCOME_LABELS[Outcome(code)]
    except ValueError:
        return code


def row(entry: AuditEntry, keyring: KeyRing, about_child: bool = False) -> Row:
    text = ""
    if entry.detail:
        try:
            text = (read_detail(keyring, entry) or {}).get("reason_text", "")
        except ContactPointError:
            text = ""
    return Row(entry.seq, entry.at, entry.actor, entry.actor_org, entry.actor_role, entry.action,
               what(entry, about_child), outcome_label(entry.outcome),
               reason_label(entry.reason) if entry.reason else "", text, tuple(entry.subjects))


def naming(cpid: str) -> QuerySet[AuditEntry]:
    """Entries whose subjects include ``cpid``. PostgreSQL answers from the JSON containment operator; SQLite
    from the stored JSON text (IDs are digits and a check character, so a quoted match is exact)."""
    if connection.vendor == "postgresql":
        return AuditEntry.objects.filter(subjects__contains=[cpid])
    return AuditEntry.objects.annotate(subjects_text=Cast("subjects", TextField())) \
        .filter(subjects_text__contains=f'"{cpid}"')


def _require(auditor: User) -> None:
    if not auditor.has(Permission.AUDIT_REPORTS):
        raise PermissionDenied("Only auditors can produce access reports.")


def child_report(auditor: User, raw_cpid: str, *, keyring: KeyRing, now: datetime, output: str = "html",
                 limit: int | None = None) -> tuple[str, list[Row]]:
    """(ContactPoint ID, rows, newest first). A local authority auditor may report on the children their
    authority is responsible for; a national auditor on any, including a record since deleted."""
    _require(auditor)
    try:
        cpid = normalise_contactpoint_id(raw_cpid)
    except ContactPointError:
        raise NotFound(CHILD_NOT_FOUND) from None
    if not is_national(auditor):
        la = Child.objects.filter(cpid=cpid).values_list("responsible_la", flat=True).first()
        if la is None or la != auditor.organisation.la_code:
            raise NotFound(CHILD_NOT_FOUND)
    entries = naming(cpid).filter(action__in=[str(a) for a in CHILD_ACTIONS]).order_by("-seq")
    if limit:
        entries = entries[:limit]
    rows = [row(e, keyring, about_child=True) for e in entries]
    record_event(AuditAction.ACCESS_REPORT, actor=user_actor(auditor), keyring=keyring, at=now, subjects=[cpid],
                 context={"report": "child", "format": output, "rows": len(rows)})
    return cpid, rows


def user_report(auditor: User, username: str, *, keyring: KeyRing, now: datetime, output: str = "html",
                limit: int | None = None) -> tuple[User, list[Row]]:
    """Everything ``username`` did, and everything others did about them (an administrator granting access, an
    auditor reporting on them), newest first. Each row names who acted (``Row.username``): a page shows the two
    apart, so that no one else's action reads as the user's."""
    _require(auditor)
    subject = users_in_area(auditor).filter(username=username.strip().lower()).select_related("organisation") \
        .first()
    if subject is None:
        raise NotFound(USER_NOT_FOUND)
    entries = AuditEntry.objects.filter(Q(actor=subject.username) | Q(target_user=subject.username)).order_by("-seq")
    if limit:
        entries = entries[:limit]
    rows = [row(e, keyring) for e in entries]
    record_event(AuditAction.ACCESS_REPORT, actor=user_actor(auditor), keyring=keyring, at=now,
                 target_user=subject.username, context={"report": "user", "format": output, "rows": len(rows)})
    return subject, rows


# --- CSV ----------------------------------------------------------------------------------------------------



HEADER = ("Entry", "When (UTC)", "Username", "Organisation", "Role", "What", "Outcome", "Reason", "Reason given",
          "ContactPoint IDs")


def csv_lines(rows: Iterable[Row]) -> Iterator[str]:
    """The report as CSV, line by line (for a streaming response)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def line(cells) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([safe_cell(c) for c in cells])
        return buffer.getvalue()

    yield line(HEADER)
    for r in rows:
        yield line((r.seq, r.at.isoformat(timespec="seconds"), r.username, r.organisation, r.role, r.what,
                    r.outcome, r.reason, r.reason_text, " ".join(r.subjects)))
