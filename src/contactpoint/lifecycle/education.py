"""Children missing education (issue 19, part 3): for a local authority's data managers, the school-age children
it is responsible for whom no source places in an educational setting.

Who is listed: live children of the authority, of compulsory school age today (``dates.of_compulsory_school_age``:
from the term after the fifth birthday to the last Friday in June of the school year they turn 16), whose best
view holds no current educational setting - none ever, or one a source has since withdrawn with no new one, and
no setting entered by the authority (``records.amendments``). A school census row that places the child takes
them off the list at once.

How it scales: every time a child's record is sealed (a feed, an amendment, a merge or split, a new identity),
``children.sealing.education_gap`` writes beside it, in clear, the first and last day of the child's compulsory
school age if the record holds no setting (``Child.education_missing_from`` / ``_until``; null otherwise). The
list is those rows of the authority whose window holds today, paged in SQL by a partial index, and only the
children on the page shown are opened. Archived, sealed, merged and deleted children drop out by their status (or
their row); a move changes the clear ``responsible_la``. Records sealed before children migration 0006 are
filled once by ``contactpoint lifecycle education-gaps`` (``fill_gaps``).

"Since when": the day the child became of compulsory school age. The best view keeps the current setting only
(not a history of settings), so for a child whose setting ended this is the earliest the gap can have begun;
the list is sorted by it, longest first.

Whereabouts are never shown, for a shielded child or any other: the list holds the ContactPoint ID, the name, the
date of birth and the date only (a shielded record shows those). Every look and every export is audited naming
the children listed, as search results are.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from django.db.models import QuerySet

from contactpoint.access.authentication import user_actor
from contactpoint.access.models import User
from contactpoint.access.roles import Permission
from contactpoint.audit.actions import AuditAction
from contactpoint.audit.trail import record_event
from contactpoint.children.models import Child, ChildStatus
from contactpoint.children.record import ChildRecord
from contactpoint.children.sealing import education_gap
from contactpoint.children.store import load_groups
from contactpoint.lifecycle.common import require
from contactpoint.spreadsheets import safe_cell
from contactpoint.vault.keyring import KeyRing

PAGE_SIZE = 50
FILL_BATCH = 1000


@dataclass(frozen=True)
class Missing:
    cpid: str
    name: str
    date_of_birth: date
    since: date


def _require(user: User) -> str:
    require(user, Permission.LA_LIFECYCLE_MANAGE, "Your role does not include the children missing education list.")
    return user.organisation.la_code or ""


def _listed(la: str, today: date) -> QuerySet[Child]:
    return Child.objects.filter(responsible_la=la, status=ChildStatus.LIVE, education_missing_from__lte=today,
                                education_missing_until__gte=today)


def _opened(children: Iterable[Child], keyring: KeyRing) -> list[Missing]:
    out = []
    for child in children:
        groups = load_groups(keyring, child, ["names", "birth"])
        out.append(Missing(child.cpid, groups["name"].value.display, groups["date_of_birth"].value,
                           child.education_missing_from))  # type: ignore[arg-type]  # not null: filtered on it
    return out


def missing(la: str, *, keyring: KeyRing, today: date, offset: int = 0, limit: int | None = None) -> list[Missing]:
    """The authority's children missing education on ``today``, longest first (then by ID); ``offset`` and
    ``limit`` page it in the database, so only the children returned are opened."""
    rows = _listed(la, today).only("id", "cpid", "names", "birth", "education_missing_from") \
        .order_by("education_missing_from", "cpid")
    rows = rows[offset:offset + limit] if limit is not None else rows[offset:]
    return _opened(rows.iterator(chunk_size=FILL_BATCH) if limit is None else rows, keyring)


def count_missing(la: str, *, today: date) -> int:
    """How many children of the authority are missing education on ``today`` (no record is opened)."""
    return _listed(la, today).count()


def fill_gaps(keyring: KeyRing, *, batch: int = FILL_BATCH) -> int:
    """Write the missing-education window of every record sealed before it was kept (children migration 0006),
    a batch of children at a time: opens each record's birth and education only. Safe to repeat. Returns how
    many children now have a window (no setting)."""
    found, last = 0, -1
    while True:
        rows = list(Child.objects.filter(pk__gt=last).order_by("pk").only("id", "cpid", "birth", "education")
                    [:batch])
        if not rows:
            return found
        updates = []
        for child in rows:
            groups = load_groups(keyring, child, ["birth", "education"])
            start, end = education_gap(ChildRecord(**{"name": None, **groups}))
            found += start is not None
            updates.append(Child(pk=child.pk, education_missing_from=start, education_missing_until=end))
        Child.objects.bulk_update(updates, ["education_missing_from", "education_missing_until"])
        last = rows[-1].pk


def missing_page(user: User, *, keyring: KeyRing, now: datetime, page: int = 1,
                 size: int = PAGE_SIZE) -> tuple[list[Missing], int]:
    """One page of the user's authority's list and how many children are on it; audited naming those shown."""
    la = _require(user)
    total = count_missing(la, today=now.date())
    shown = missing(la, keyring=keyring, today=now.date(), offset=(max(page, 1) - 1) * size, limit=size)
    record_event(AuditAction.MISSING_EDUCATION_VIEWED, actor=user_actor(user), keyring=keyring, at=now,
                 subjects=[m.cpid for m in shown], reason="records management",
                 context={"page": max(page, 1), "total": total})
    return shown, total


CSV_COLUMNS = ("contactpoint_id", "name", "date_of_birth", "missing_since", "days_missing")


def missing_csv(user: User, *, keyring: KeyRing, now: datetime) -> str:
    """The whole list as CSV; audited as an export naming every child in it."""
    la = _require(user)
    every = missing(la, keyring=keyring, today=now.date())
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for m in every:
        writer.writerow([m.cpid, safe_cell(m.name), m.date_of_birth.isoformat(), m.since.isoformat(),
                         (now.date() - m.since).days])
    record_event(AuditAction.MISSING_EDUCATION_EXPORTED, actor=user_actor(user), keyring=keyring, at=now,
                 subjects=[m.cpid for m in every], reason="records management", context={"total": len(every)})
    return out.getvalue()


__all__ = ["CSV_COLUMNS", "PAGE_SIZE", "Missing", "count_missing", "fill_gaps", "missing", "missing_csv",
           "missing_page"]
