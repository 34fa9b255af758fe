"""What each role's home page shows first (issue 18): for a data manager, an auditor, an administrator and the
operator, what is waiting for them, with counts and the link to where they deal with it.

Plain functions of the user and the clock; the home page (``account.home``) only renders what they return, a
section for each role's permissions a user holds. Each count is scoped as the page it links to is (a data
manager's to their own authority, an auditor's to their area, an administrator's to the organisations they
administer), and nothing here names a child or says where one is: the counts of shielding work go only to the data
managers who decide it, and every other count is of work the user's pages already list.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from django.urls import reverse

from contactpoint.access import administration
from contactpoint.access.models import SourceSystem, User
from contactpoint.access.roles import Permission
from contactpoint.bestview import discrepancies
from contactpoint.children.models import ChildStatus
from contactpoint.ingest.held import held_count
from contactpoint.ingest.jobs import SourceFeed, last_feeds, overdue
from contactpoint.lifecycle import archive, education, moves, shielding
from contactpoint.lifecycle.models import SealedOpening
from contactpoint.matching import review
from contactpoint.monitoring import alerts
from contactpoint.monitoring.health import TrailHealth, trail_health
from contactpoint.monitoring.models import AlertStatus
from contactpoint.monitoring.thresholds import MonitorSettings
from contactpoint.records import amendments, brokering
from contactpoint.records.models import Amendment

NOTHING = "Nothing waiting"


@dataclass(frozen=True)
class Named:
    """One of the things counted, by name (an account, a source system; never a child)."""

    text: str
    href: str = ""
    when_said: str = ""  # e.g. "expires", said before ``when``
    when: date | datetime | None = None


@dataclass(frozen=True)
class Task:
    """One line of a home page: what is waiting, how many, and the link to deal with it."""

    label: str  # what is counted, e.g. "Possible matches to review"
    count: int
    one: str  # the unit, e.g. "pair"
    many: str  # "pairs"
    link: str  # the link's words, e.g. "Review matches"
    href: str
    note: str = ""  # said after the count, e.g. what is waiting for someone else
    names: list[Named] = field(default_factory=list)  # a few of them by name
    none: str = NOTHING  # said when there are none
    waiting: bool = True  # the count is of work waiting (shown in bold), not merely of things there are

    @property
    def said(self) -> str:
        return f"{self.count:,} {self.one if self.count == 1 else self.many}" if self.count else self.none

    @property
    def value(self) -> str:
        return f"{self.said}. {self.note}" if self.note else self.said


@dataclass(frozen=True)
class DataManagerHome:
    authority: str
    tasks: list[Task]


@dataclass(frozen=True)
class AuditorHome:
    national: bool
    tasks: list[Task]
    health: TrailHealth
    checkpoints_stale: bool
    can_report: bool


@dataclass(frozen=True)
class AdministratorHome:
    tasks: list[Task]
    sources: list[SourceFeed] | None  # None: the user does not manage source systems
    organisations: Task | None  # None: the user does not vouch for organisations


@dataclass(frozen=True)
class OperatorHome:
    tasks: list[Task]


@dataclass(frozen=True)
class Homes:
    """The sections of one user's home page, each None unless their role has its permissions."""

    data_manager: DataManagerHome | None = None
    auditor: AuditorHome | None = None
    administrator: AdministratorHome | None = None
    operator: OperatorHome | None = None


def homes(user: User, *, today: date, now: datetime) -> Homes:
    return Homes(
        data_manager=data_manager_home(user, today=today) if user.has(Permission.LA_MATCH_REVIEW) else None,
        auditor=auditor_home(user, now=now) if user.has(Permission.AUDIT_ALERTS) else None,
        administrator=administrator_home(user, today=today, now=now) if user.has(Permission.ORG_USERS_VIEW)
        else None,
        operator=operator_home(now=now) if user.has(Permission.OPS_SERVICE) else None)


# --- a local authority's data manager ---------------------------------------------------------------------------

def data_manager_home(user: User, *, today: date) -> DataManagerHome | None:
    """The work waiting for the user's own local authority, most urgent first."""
    la = user.organisation.la_code
    if not la:  # the role is held in local authorities only; an account elsewhere has no authority's work
        return None
    tasks = []
    lifecycle = user.has(Permission.LA_LIFECYCLE_MANAGE)  # the shielding and retention work list, linked to
    if lifecycle and user.has(Permission.LA_SHIELD_APPROVE):
        # Four eyes: a proposal waits for a data manager other than the one who made it.
        waiting = shielding.awaiting_approval(la)
        mine = sum(1 for d in waiting if d.proposed_by_id == user.pk)
        tasks.append(Task("Shielding proposals for you to approve", len(waiting) - mine, "proposal", "proposals",
                          "Approve or reject shielding", reverse("lifecycle-worklist"),
                          note=(f"{mine} of yours {'is' if mine == 1 else 'are'} waiting for another data "
                                "manager.") if mine else ""))
    if lifecycle:
        tasks.append(Task("Shielding reviews due", len(shielding.reviews_due(la, today)), "review", "reviews",
                          "Review shielding", reverse("lifecycle-worklist")))
    if lifecycle and user.has(Permission.LA_SEALED_OPEN):
        requested = archive.openings(la, status=SealedOpening.Status.REQUESTED)
        tasks.append(Task("Requests to open a sealed record", len(requested), "request", "requests",
                          "Decide requests to open sealed records", reverse("lifecycle-worklist")))
    if user.has(Permission.LA_RECORDS_CORRECT):
        # Four eyes again: a proposed identifier change waits for a data manager other than its proposer.
        proposed = Amendment.objects.filter(responsible_la=la, status=Amendment.Status.PROPOSED,
                                            child__responsible_la=la, child__status=ChildStatus.LIVE)
        mine = proposed.filter(made_by=user).count()
        aside = len(amendments.set_aside(user))
        notes = ([f"{mine} of yours {'is' if mine == 1 else 'are'} waiting for another data manager."] if mine
                 else []) + ([f"{aside} set aside by a merge to check."] if aside else [])
        tasks.append(Task("Identifier changes for you to approve", proposed.count() - mine, "change", "changes",
                          "Approve or reject identifier changes", reverse("amendments-awaiting"),
                          note=" ".join(notes)))
    if lifecycle and user.has(Permission.LA_SHIELD_HIDDEN_VIEW):
        # Only shielded children's moves are reported for a decision: counted for those who decide them.
        tasks.append(Task("Reported moves awaiting a decision", moves.awaiting_decision(la), "move", "moves",
                          "Decide reported moves", reverse("lifecycle-moves")))
    if lifecycle:
        tasks.append(Task("Hand-over notices you have not seen", moves.unread_hand_overs(user), "notice", "notices",
                          "See moves and hand-overs", reverse("lifecycle-moves")))
        tasks.append(Task("Children missing education", education.count_missing(la, today=today), "child",
                          "children", "See the children missing education", reverse("lifecycle-missing-education")))
    if user.has(Permission.LA_SENSITIVE_MANAGE):
        tasks.append(Task("Requests to be put in touch", len(brokering.work_list(user)), "request", "requests",
                          "Handle contact requests", reverse("brokering-requests")))
    pending = review.items_for(user).filter(status__in=review.PENDING).count()
    tasks.append(Task("Possible matches to review", pending, "pair", "pairs", "Review matches",
                      reverse("review-queue")))
    tasks.append(Task("Rows held back from matching", held_count(la), "row", "rows", "See the rows held back",
                      reverse("held-rows")))
    if user.has(Permission.LA_DISCREPANCIES):
        by_source = [discrepancies.count(code) for code in
                     SourceSystem.objects.filter(organisation__la_code=la).values_list("code", flat=True)]
        sending = sum(1 for n in by_source if n)
        tasks.append(Task("Open discrepancies with your sources", sum(by_source), "item", "items",
                          "See the discrepancies", reverse("discrepancies"),
                          note=f"From {sending} source{'' if sending == 1 else 's'}." if sending else ""))
    return DataManagerHome(la, tasks)


# --- an auditor -------------------------------------------------------------------------------------------------

def auditor_home(user: User, *, now: datetime) -> AuditorHome:
    found = alerts.alerts_in_scope(user)
    new = found.filter(status=AlertStatus.OPEN).count()
    investigating = found.filter(status=AlertStatus.ACKNOWLEDGED).count()
    tasks = [Task("New alerts", new, "alert", "alerts", "See the new alerts",
                  reverse("audit-home") + "?status=open"),
             Task("Alerts being investigated", investigating, "alert", "alerts", "See the alerts being investigated",
                  reverse("audit-home") + "?status=acknowledged")]
    health = trail_health()
    return AuditorHome(alerts.is_national(user), tasks, health,
                       health.checkpoints_stale(now, MonitorSettings.from_env()),
                       user.has(Permission.AUDIT_REPORTS))


# --- an organisation administrator -------------------------------------------------------------------------------

NAMES_SHOWN = 5  # a few accounts by name on the home page; the users page lists them all


def _user_names(users: list[User], when_said: str = "", when: list | None = None) -> list[Named]:
    return [Named(u.full_name, reverse("admin-user", args=[u.pk]), when_said, when[i] if when else None)
            for i, u in enumerate(users[:NAMES_SHOWN])]


def administrator_home(user: User, *, today: date, now: datetime) -> AdministratorHome:
    seen = administration.accounts_to_see(user, today=today, now=now)
    users = reverse("admin-users")
    lapsed = f"{users}?status=lapsed"
    tasks = [
        Task("Accounts waiting for access to be granted", len(seen.to_grant), "account", "accounts",
             "See the accounts", lapsed, names=_user_names(seen.to_grant)),
        Task("Clearances expired or not recorded", len(seen.clearance_lapsed), "account", "accounts",
             "See the accounts", lapsed, names=_user_names(seen.clearance_lapsed)),
        Task("Clearances expiring soon", len(seen.clearance_expiring), "account", "accounts", "See the users",
             users, names=_user_names([u for u, _ in seen.clearance_expiring], "expires",
                                      [d for _, d in seen.clearance_expiring])),
        Task("Accounts locked after failed sign-ins", len(seen.locked), "account", "accounts", "See the users",
             users, names=_user_names([u for u, _ in seen.locked], "until", [t for _, t in seen.locked])),
    ]
    sources = None
    if user.has(Permission.ORG_SOURCES_MANAGE):
        sources = last_feeds(SourceSystem.objects.filter(
            organisation__in=administration.organisations_in_scope(user)), now)
    organisations = None
    if user.has(Permission.ORG_ORGANISATIONS_VOUCH):
        vouched = administration.organisations_in_scope(user).exclude(pk=user.organisation_id)
        suspended = vouched.filter(suspended_at__isnull=False).count()
        organisations = Task("Organisations you vouch for", vouched.count(), "organisation", "organisations",
                             "See the organisations", reverse("admin-organisations"),
                             note=f"{suspended} suspended." if suspended else "", none="None",
                             waiting=False)
    return AdministratorHome(tasks, sources, organisations)


# --- the operator --------------------------------------------------------------------------------------------------

def operator_home(*, now: datetime) -> OperatorHome:
    """Sources silent for longer than expected (the operator sees no child data: names of systems only)."""
    silent = overdue(now)
    return OperatorHome([Task("Sources that have not sent for longer than expected", len(silent), "source",
                              "sources", "See the service status", reverse("ops-status"),
                              names=[Named(s.name, "", "nothing since", since) for s, since in silent[:NAMES_SHOWN]])])
