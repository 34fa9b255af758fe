"""Children missing education (issue 19, part 3): for a local authority's data managers, the school-age children
it is responsible for whom no source places in an educational setting.

Who is listed: live children of the authority, of compulsory school age today (``dates.of_compulsory_school_age``:
from the term after the fifth birthday to the last Friday in June of the school year they turn 16), whose best
view holds no current educational setting - none ever, or one a source has since withdrawn with no new one. A
school census row that places the child (an educational setting in the best view) takes them off the list at the
next look: the list is worked out from the records each time, never stored.

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
from dataclasses import dataclass
from datetime import date, datetime

from contactpoint.access.authentication import user_actor
from contactpoint.access.models import User
from contactpoint.access.roles import Permission
from contactpoint.audit.actions import AuditAction
from contactpoint.audit.trail import record_event
from contactpoint.children.models import Child, ChildStatus
from contactpoint.children.store import load_groups
from contactpoint.dates import anniversary, compulsory_school_age_starts, first_of_month, of_compulsory_school_age
from contactpoint.lifecycle.common import require
from contactpoint.spreadsheets import safe_cell
from contactpoint.vault.keyring import KeyRing, get_keyring

PAGE_SIZE = 50
# The oldest of compulsory school age is under 17; the youngest over 5: their records are reviewed (archived) at
# 18, so only children whose review month is within 14 years need opening (review_month is in clear).
YOUNGEST_YEARS = 4


@dataclass(frozen=True)
class Missing:
    cpid: str
    name: str
    date_of_birth: date
    since: date


def _require(user: User) -> str:
    require(user, Permission.LA_LIFECYCLE_MANAGE, "Your role does not include the children missing education list.")
    return user.organisation.la_code or ""


def missing(la: str, *, keyring: KeyRing, today: date) -> list[Missing]:
    """Every child of the authority missing education on ``today``, longest first (then by ID)."""
    latest_review = first_of_month(anniversary(today, 18 - YOUNGEST_YEARS))
    children = Child.objects.filter(responsible_la=la, status=ChildStatus.LIVE, review_month__lte=latest_review)
    out = []
    for child in children.only("id", "cpid", "names", "birth", "education").order_by("cpid").iterator():
        groups = load_groups(keyring, child, ["names", "birth", "education"])
        born = groups["date_of_birth"].value
        if groups.get("education") is not None or groups.get("date_of_death") is not None \
                or not of_compulsory_school_age(born, today):
            continue
        out.append(Missing(child.cpid, groups["name"].value.display, born, compulsory_school_age_starts(born)))
    return sorted(out, key=lambda m: (m.since, m.cpid))


def count_missing(la: str, *, today: date) -> int:
    """How many children of the authority are missing education on ``today`` (the home page's count)."""
    return len(missing(la, keyring=get_keyring(), today=today))


def missing_page(user: User, *, keyring: KeyRing, now: datetime, page: int = 1,
                 size: int = PAGE_SIZE) -> tuple[list[Missing], int]:
    """One page of the user's authority's list and how many children are on it; audited naming those shown."""
    la = _require(user)
    every = missing(la, keyring=keyring, today=now.date())
    shown = every[(max(page, 1) - 1) * size:max(page, 1) * size]
    record_event(AuditAction.MISSING_EDUCATION_VIEWED, actor=user_actor(user), keyring=keyring, at=now,
                 subjects=[m.cpid for m in shown], reason="records management",
                 context={"page": max(page, 1), "total": len(every)})
    return shown, len(every)


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


__all__ = ["CSV_COLUMNS", "PAGE_SIZE", "Missing", "count_missing", "missing", "missing_csv", "missing_page"]
