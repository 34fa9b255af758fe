"""The daily run: ``contactpoint lifecycle run [--today YYYY-MM-DD]`` (DESIGN.md section 1 "Retention").

    live ──(18th birthday; 25th with consent; a year after a notified death)──► archived
    archived ──(one year later)──► sealed ──(six years after archiving)──► deleted (crypto-shredded)
    held row (too thin to make a child, ``ingest.held``) ──(a year after it was last changed)──► deleted

Which records to look at comes from the coarse months in clear (``Child.review_month``, and
``DeathNotice.live_until_month`` in case a feed has since rebuilt the record without the death); the exact dates
are then read from the sealed record in memory. Each record moves in its own small transaction with its own audit
entry, and a move that has already happened is not repeated: the run is idempotent, and a run killed at any
point is finished by the next one. The dates a record moves on are its own (the birthday, the anniversary), not
the day the run happened to see it, so a run missed for a week catches up exactly.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db.models import Q

from contactpoint.audit.actions import AuditAction
from contactpoint.audit.trail import Actor, record_event
from contactpoint.children.models import Child, ChildStatus, HeldRecord
from contactpoint.children.store import cipher_for, load_groups
from contactpoint.dates import anniversary, first_of_month, live_until
from contactpoint.lifecycle import consent as consents
from contactpoint.lifecycle import retention, transitions
from contactpoint.lifecycle.common import day, unseal
from contactpoint.lifecycle.models import DeathNotice
from contactpoint.lifecycle.transitions import RETAINED_YEARS, VISIBLE_YEARS, Reason
from contactpoint.vault.keyring import KeyRing

ACTOR = Actor.system("lifecycle")

# A held row is a source's record of someone the index cannot yet call a child (no date of birth, or no name,
# and nothing it links to). It is kept for a year from the day its source last sent it changed: time for the
# source to correct it (it is an item on their discrepancy report) or for the child's other records to arrive,
# and no longer, since nothing about it can be checked against a child's age. A source still sending it
# afterwards has it held again, from that day.
HELD_YEARS = 1


@dataclass
class RunReport:
    today: date
    looked_at: int = 0
    archived: list[str] = field(default_factory=list)
    sealed: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    rescheduled: int = 0
    keys_destroyed: list[str] = field(default_factory=list)
    held_deleted: int = 0

    def lines(self) -> list[str]:
        return [f"lifecycle run for {self.today.isoformat()}: looked at {self.looked_at} records",
                f"archived: {len(self.archived)}", f"sealed: {len(self.sealed)}",
                f"deleted: {len(self.deleted)}", f"rescheduled: {self.rescheduled}",
                f"retention keys destroyed: {len(self.keys_destroyed)}", f"held rows deleted: {self.held_deleted}"]


def _each(query, chunk: int = 500):
    """The children of ``query``, fetched a chunk at a time by ID (the moves change the rows being listed)."""
    ids = list(query.order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(ids), chunk):
        yield from Child.objects.filter(pk__in=ids[start:start + chunk]).order_by("pk")


def _live_decision(keyring: KeyRing, child: Child, today: date) -> tuple[date, str, date]:
    """(the day the record stops being live, why, the day it actually archives). The archive day is the end day,
    unless the record was rightly live past it (consent withdrawn at 21, a death notified late): then it is the
    day that changed."""
    cipher = cipher_for(keyring, child)
    birth = load_groups(keyring, child, ["birth"], cipher)
    dob = birth["date_of_birth"].value
    death = birth["date_of_death"].value if birth["date_of_death"] else None
    notice = DeathNotice.objects.filter(child=child).first()
    notified_on = None
    if notice is not None:
        sealed = unseal(cipher, "death", notice.key, bytes(notice.payload))
        notified_on = day(sealed["notified_on"])
        death = day(sealed["date_of_death"]) if death is None else min(death, day(sealed["date_of_death"]))
    has_consent = consents.active_consent(child) is not None
    end = live_until(dob, consent_to_25=has_consent, date_of_death=death)
    if death is not None and end == anniversary(death, 1):
        return end, Reason.DEATH, max(end, notified_on or end)
    if has_consent:
        return end, Reason.AGE_25, end
    withdrawn = consents.withdrawn_on(keyring, child, cipher)
    if withdrawn is not None and withdrawn > end:
        return end, Reason.CONSENT_WITHDRAWN, withdrawn
    return end, Reason.AGE, end


def _live(keyring: KeyRing, today: date, now: datetime, report: RunReport) -> None:
    month = first_of_month(today)
    dying = DeathNotice.objects.filter(live_until_month__lte=month).values_list("child_id", flat=True)
    due = Child.objects.filter(Q(review_month__lte=month) | Q(pk__in=dying), status=ChildStatus.LIVE)
    for child in _each(due):
        report.looked_at += 1
        end, reason, archive_on = _live_decision(keyring, child, today)
        if end <= today and archive_on <= today:
            if transitions.archive(keyring, child, on=archive_on, reason=reason, actor=ACTOR, now=now):
                report.archived.append(child.cpid)
        else:
            # Not yet: look again in the month the record's live days end (a feed may have reset the month, or
            # consent moved it to the 25th birthday).
            next_month = first_of_month(max(end, archive_on))
            if child.review_month != next_month:
                Child.objects.filter(pk=child.pk, status=ChildStatus.LIVE).update(review_month=next_month)
                report.rescheduled += 1


def _archived(keyring: KeyRing, today: date, now: datetime, report: RunReport) -> None:
    month = first_of_month(today)
    due = Child.objects.filter(status=ChildStatus.ARCHIVED, review_month__lte=month)
    for child in _each(due):
        report.looked_at += 1
        on = date.fromisoformat(transitions.archive_info(keyring, child)["on"])
        if anniversary(on, VISIBLE_YEARS) <= today and transitions.seal_record(keyring, child, actor=ACTOR,
                                                                                now=now):
            report.sealed.append(child.cpid)


def _sealed(keyring: KeyRing, today: date, now: datetime, report: RunReport) -> None:
    month = first_of_month(today)
    due = Child.objects.filter(status=ChildStatus.SEALED, review_month__lte=month)
    for child in _each(due):
        report.looked_at += 1
        on = date.fromisoformat(transitions.archive_info(keyring, child)["on"])
        if anniversary(on, RETAINED_YEARS) <= today and transitions.delete(keyring, child, actor=ACTOR, now=now):
            report.deleted.append(child.cpid)


def _held(keyring: KeyRing, today: date, now: datetime, report: RunReport) -> None:
    """Delete the rows held a year or more (``HELD_YEARS``): the row, its own wrapped data key and its tokens go
    together, so nothing of it can be opened again. Audited per local authority, as counts."""
    due = [(pk, la) for pk, received, la in HeldRecord.objects.filter(
        received__lte=today - timedelta(days=365)).values_list("pk", "received", "responsible_la")
        if anniversary(received, HELD_YEARS) <= today]
    for start in range(0, len(due), 500):
        HeldRecord.objects.filter(pk__in=[pk for pk, _ in due[start:start + 500]]).delete()
    for la, count in sorted(Counter(la for _, la in due).items()):
        record_event(AuditAction.HELD_ROWS_DELETED, actor=ACTOR, keyring=keyring, at=now,
                     context={"responsible_la": la, "count": count, "held_for_years": HELD_YEARS})
    report.held_deleted = len(due)


def run(keyring: KeyRing, *, today: date, now: datetime,
        progress: Callable[[str], None] = lambda line: None) -> RunReport:
    """Move every record whose time has come; print (through ``progress``) and audit what was done."""
    report = RunReport(today)
    _live(keyring, today, now, report)
    progress(f"archived {len(report.archived)}")
    _archived(keyring, today, now, report)  # after archiving: a long-missed run catches up in one go
    progress(f"sealed {len(report.sealed)}")
    _sealed(keyring, today, now, report)
    progress(f"deleted {len(report.deleted)}")
    report.keys_destroyed = retention.destroy_spent(keyring, today)
    _held(keyring, today, now, report)
    record_event(AuditAction.LIFECYCLE_RUN, actor=ACTOR, keyring=keyring, at=now,
                 context={"today": today.isoformat(), "looked_at": report.looked_at,
                          "archived": len(report.archived), "sealed": len(report.sealed),
                          "deleted": len(report.deleted), "rescheduled": report.rescheduled,
                          "retention_keys_destroyed": report.keys_destroyed,
                          "held_rows_deleted": report.held_deleted})
    return report
