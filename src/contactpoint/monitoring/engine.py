"""The monitor: reads new audit entries in ``seq`` order from a persisted cursor and runs the rules over them.

Each batch is one transaction: the counters it changed, the alerts it raised (with their ALERT_RAISED
entries) and the cursor move together, so a crash or a restart neither loses an entry nor raises an alert
twice. Entries written by the system itself (``system:...``) are not a user's activity: the monitor does not
watch its own alerts.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db import transaction
from django.db.models import Avg, Count
from django.utils import timezone

from contactpoint.access.models import SourceSystem, User
from contactpoint.access.preconditions import clearance_expires
from contactpoint.access.roles import OrgKind
from contactpoint.audit.actions import AuditAction, Outcome
from contactpoint.audit.models import AuditEntry, AuditHead
from contactpoint.audit.trail import read_detail
from contactpoint.children.models import Child, SourceRecord
from contactpoint.errors import ContactPointError
from contactpoint.monitoring import identity
from contactpoint.monitoring.alerts import raise_alert
from contactpoint.monitoring.models import MonitorCursor, SurnameCount, UserDay, WatchedIdentity
from contactpoint.monitoring.rules import (
    Baseline,
    Finding,
    Rule,
    clearance_lapses_soon,
    in_working_hours,
    searches_without_views,
    surname_is_common,
    volume_limit,
)
from contactpoint.monitoring.thresholds import MonitorSettings
from contactpoint.records.involvements import of_organisation, org_tokens, organisation_of
from contactpoint.records.models import PractitionerInvolvement
from contactpoint.vault.keyring import KeyRing

log = logging.getLogger("contactpoint.monitoring")

CURSOR = "rules"
TOTAL = "*total*"  # the SurnameCount row holding the number of family-name searches counted
SEARCHES = {AuditAction.SEARCH, AuditAction.SEARCH_REFUSED, AuditAction.SEARCH_RATE_LIMITED}
EVIDENCE_CAP = 50
NATIONAL_KINDS = {OrgKind.NATIONAL_PARTNER, OrgKind.OPERATOR}


@dataclass
class Person:
    username: str
    org: str
    la: str  # "" for a national body: the area rule does not apply
    role: str
    clearance_expires: date | None
    family: frozenset[str]
    postcode: str


def _is_person(actor: str) -> bool:
    return bool(actor) and actor != "unknown" and not actor.startswith(("system:", "source:"))


class Batch:
    """One batch of entries: counters and findings built in memory, then saved together."""

    def __init__(self, entries: list[AuditEntry], keyring: KeyRing, settings: MonitorSettings) -> None:
        self.entries, self.keyring, self.settings = entries, keyring, settings
        self.findings: dict[str, Finding] = {}
        self.days: dict[tuple[str, date], UserDay] = {}
        self.surnames: dict[str, int] = defaultdict(int)
        self.people = self._people({e.actor for e in entries if _is_person(e.actor)})
        views = [e for e in entries if e.action == AuditAction.RECORD_VIEWED and e.actor in self.people]
        self.child_la = dict(Child.objects.filter(cpid__in={c for e in views for c in e.subjects})
                             .values_list("cpid", "responsible_la"))
        self.involved = self._involvements(views)

    # -- what the batch needs to know, fetched once --------------------------------------------------------

    @staticmethod
    def _people(names: set[str]) -> dict[str, Person]:
        watched = {w.user_id: w for w in WatchedIdentity.objects.filter(user__username__in=names)}
        out = {}
        for user in User.objects.filter(username__in=names).select_related("organisation"):
            org = user.organisation
            w = watched.get(user.pk)
            out[user.username] = Person(
                user.username, org.code, "" if org.kind in NATIONAL_KINDS else org.la_code, user.role_code,
                clearance_expires(user), frozenset(w.family_tokens) if w else frozenset(),
                w.postcode_token if w else "")
        return out

    def _involvements(self, views: list[AuditEntry]) -> set[tuple[str, str]]:
        """(organisation, ContactPoint ID) pairs with a recorded involvement: one the practitioner's organisation
        recorded itself, or a record the organisation's own source system sent."""
        pairs = {(self.people[e.actor].org, c) for e in views for c in e.subjects}
        if not pairs:
            return set()
        orgs, cpids = {o for o, _ in pairs}, {c for _, c in pairs}
        # The organisation is sealed in the entry; its keyed hash finds the entries without opening them.
        tokens = org_tokens(self.keyring, orgs)
        found: set[tuple[str, str]] = set()
        for e in PractitionerInvolvement.objects.filter(of_organisation(tokens), child__cpid__in=cpids) \
                .select_related("child").only("organisation", "org_token", "child__cpid"):
            org = organisation_of(tokens, e)
            if org is not None:
                found.add((org, e.child.cpid))
        sources = dict(SourceSystem.objects.filter(organisation__code__in=orgs)
                       .values_list("code", "organisation__code"))
        if sources:
            for source, cpid in SourceRecord.objects.filter(source__in=sources, child__cpid__in=cpids, active=True) \
                    .values_list("source", "child__cpid"):
                found.add((sources[source], cpid))
        return found

    def day(self, person: Person, on: date) -> UserDay:
        key = (person.username, on)
        row = self.days.get(key)
        if row is None:
            row = UserDay.objects.filter(username=person.username, day=on).first() or \
                UserDay(username=person.username, day=on, role=person.role)
            self.days[key] = row
        return row

    def find(self, rule: Rule, key: str, person: Person | None, entry: AuditEntry, *, org: str = "",
             subjects: Iterable[str] = (), entries: Iterable[int] = (), **evidence) -> None:
        full_key = f"{rule}:{key}"
        finding = self.findings.get(full_key)
        if finding is None:
            finding = self.findings[full_key] = Finding(
                rule, full_key, person.username if person else evidence.pop("user", ""),
                person.org if person else org, entry.at)
        finding.occurred_at = max(finding.occurred_at, entry.at)
        finding.entries = sorted(set(finding.entries) | {entry.seq} | set(entries))
        finding.subjects = sorted(set(finding.subjects) | set(subjects))
        finding.evidence.update(evidence)

    @staticmethod
    def note(row: UserDay, rule: Rule, seq: int) -> None:
        # Evidence kept on the day's counters so that an alert raised later still lists the earlier entries.
        seqs = row.notes.setdefault(f"seq:{rule}", [])
        if len(seqs) < EVIDENCE_CAP:
            seqs.append(seq)

    # -- the rules, entry by entry --------------------------------------------------------------------------

    def observe(self, e: AuditEntry) -> None:
        action = e.action
        if action == AuditAction.LOGIN_FAILED:
            self.refused_login(e)
            return
        if action == AuditAction.AUDIT_VERIFIED and e.outcome == Outcome.FAILED:
            self.find(Rule.AUDIT_TRAIL, f"broken:{e.context.get('first_bad_seq')}", None, e,
                      problem=e.context.get("problem", ""), user="")
            return
        person = self.people.get(e.actor)
        if person is None:
            return
        is_search, is_view = action in SEARCHES, action == AuditAction.RECORD_VIEWED
        if not (is_search or is_view or action == AuditAction.SHIELD_OVERRIDE):
            return
        local = timezone.localtime(e.at)
        row = self.day(person, local.date())
        if action == AuditAction.SHIELD_OVERRIDE:
            self.find(Rule.SHIELD_OVERRIDE, f"{person.username}:{e.seq}", person, e, subjects=e.subjects,
                      reason=e.reason)
        if is_search:
            row.searches += 1
            if e.context.get("code") == "too_many_matches":
                row.too_many += 1
                self.note(row, Rule.TOO_MANY, e.seq)
            if action == AuditAction.SEARCH_RATE_LIMITED:
                self.find(Rule.RATE_LIMITED, f"{person.username}:{local:%Y-%m-%dT%H}", person, e)
            self.searched_for(person, e)
        if is_view:
            row.views += 1
            self.viewed(person, row, e)
        if not in_working_hours(local, self.settings):
            row.out_of_hours += 1
            self.note(row, Rule.OUT_OF_HOURS, e.seq)
        expires = person.clearance_expires
        if expires is not None and clearance_lapses_soon(expires, local.date(), self.settings):
            self.find(Rule.CLEARANCE, f"{person.username}:{expires}", person, e, clearance_expires=expires.isoformat())

    def searched_for(self, person: Person, e: AuditEntry) -> None:
        if not e.detail:
            return
        try:
            detail = read_detail(self.keyring, e)
        except ContactPointError:
            log.warning("audit entry %s: detail could not be decrypted", e.seq)
            return
        criteria = (detail or {}).get("criteria") or {}
        family, postcode = identity.search_tokens(self.keyring, criteria)
        for token in family:
            self.surnames[token] += 1
        if family:
            self.surnames[TOTAL] += 1
        if person.postcode and postcode == person.postcode:
            self.find(Rule.OWN_NAME, f"{person.username}:{e.seq}", person, e, matched="home postcode")
        own = family & person.family
        if own:
            counts = self.surname_counts(own)
            if not any(surname_is_common(counts[t], counts[TOTAL], self.settings) for t in own):
                self.find(Rule.OWN_NAME, f"{person.username}:{e.seq}", person, e, matched="own family name")

    def surname_counts(self, tokens: set[str]) -> dict[str, int]:
        stored = dict(SurnameCount.objects.filter(token__in=tokens | {TOTAL}).values_list("token", "count"))
        return {t: stored.get(t, 0) + self.surnames.get(t, 0) for t in tokens | {TOTAL}}

    def viewed(self, person: Person, row: UserDay, e: AuditEntry) -> None:
        for cpid in e.subjects:
            involved = (person.org, cpid) in self.involved
            if e.context.get("shielded") and not involved:
                self.find(Rule.SHIELDED_VIEW, f"{person.username}:{cpid}:{row.day}", person, e, subjects=[cpid],
                          overridden=bool(e.context.get("override")))
            child_la = self.child_la.get(cpid)
            if person.la and child_la and child_la != person.la and not involved:
                outside = row.notes.setdefault("children", [])
                if cpid not in outside:
                    outside.append(cpid)
                self.note(row, Rule.OUT_OF_AREA, e.seq)

    def refused_login(self, e: AuditEntry) -> None:
        s = self.settings
        since = e.at - timedelta(minutes=s.login_window_minutes)
        window = AuditEntry.objects.filter(action=AuditAction.LOGIN_FAILED, at__gt=since, at__lte=e.at)
        if e.target_user:
            seqs = list(window.filter(target_user=e.target_user).values_list("seq", flat=True)[:100])
            if len(seqs) >= s.login_burst_account:
                person = self.people.get(e.target_user) or next(iter(self._people({e.target_user}).values()), None)
                self.find(Rule.LOGIN_BURST, f"account:{e.target_user}:{self._bucket(e)}", person, e, entries=seqs,
                          refused=len(seqs), window_minutes=s.login_window_minutes,
                          user=e.target_user)
        ip = e.context.get("ip")
        if ip:
            seqs = list(window.filter(context__ip=ip).values_list("seq", flat=True)[:200])
            if len(seqs) >= s.login_burst_address:
                self.find(Rule.LOGIN_BURST, f"address:{ip}:{self._bucket(e)}", None, e, entries=seqs[-50:],
                          refused=len(seqs), address=ip, window_minutes=s.login_window_minutes, user="")

    def _bucket(self, e: AuditEntry) -> str:
        # One alert per account (or address) per window, however long the burst goes on.
        minutes = int(e.at.timestamp() // 60) // self.settings.login_window_minutes
        return str(minutes)

    # -- rules over the day's counters, once the batch's entries are counted -----------------------------

    def judge_days(self, baselines: BaselineCache) -> None:
        s = self.settings
        last: dict[tuple[str, date], AuditEntry] = {}
        for entry in self.entries:
            if entry.actor in self.people:
                last[(entry.actor, timezone.localtime(entry.at).date())] = entry
        for (username, on), row in self.days.items():
            person, e = self.people[username], last.get((username, on))
            if e is None:
                continue
            key = f"{username}:{on}"
            if row.activity > s.volume_floor:
                limit, basis = volume_limit(baselines.user(username, on), baselines.role(row.role, on), s)
                if row.activity > limit:
                    self.find(Rule.VOLUME, key, person, e, searches=row.searches, views=row.views, limit=limit,
                              basis=basis, day=on.isoformat())
            if searches_without_views(row.searches, row.views, s):
                self.find(Rule.SEARCH_NO_VIEW, key, person, e, searches=row.searches, views=row.views,
                          day=on.isoformat())
            if row.too_many >= s.too_many_min:
                self.find(Rule.TOO_MANY, key, person, e, entries=row.notes.get(f"seq:{Rule.TOO_MANY}", []),
                          refused=row.too_many, day=on.isoformat())
            if row.out_of_hours >= s.out_of_hours_min and \
                    baselines.out_of_hours_days(username, on) < s.out_of_hours_habitual_days:
                self.find(Rule.OUT_OF_HOURS, key, person, e,
                          entries=row.notes.get(f"seq:{Rule.OUT_OF_HOURS}", []), uses=row.out_of_hours,
                          day=on.isoformat())
            outside = row.notes.get("children", [])
            if len(outside) >= s.out_of_area_min:
                self.find(Rule.OUT_OF_AREA, key, person, e, subjects=outside,
                          entries=row.notes.get(f"seq:{Rule.OUT_OF_AREA}", []), children=len(outside),
                          day=on.isoformat())

    def save(self) -> None:
        new = [r for r in self.days.values() if r.pk is None]
        old = [r for r in self.days.values() if r.pk is not None]
        for row in UserDay.objects.bulk_create(new):
            if row.pk is None:  # SQLite before 3.35 returns no ids: fetch them
                row.pk = UserDay.objects.get(username=row.username, day=row.day).pk
        UserDay.objects.bulk_update(old, ["searches", "views", "too_many", "out_of_hours", "notes"])
        if self.surnames:
            existing = dict(SurnameCount.objects.filter(token__in=list(self.surnames))
                            .values_list("token", "count"))
            SurnameCount.objects.bulk_update(
                [SurnameCount(token=t, count=existing[t] + n) for t, n in self.surnames.items() if t in existing],
                ["count"])
            SurnameCount.objects.bulk_create(
                [SurnameCount(token=t, count=n) for t, n in self.surnames.items() if t not in existing])


class BaselineCache:
    """Baselines from earlier days' counters. A role's baseline changes slowly: kept per role and day."""

    def __init__(self, settings: MonitorSettings) -> None:
        self.settings = settings
        self._roles: dict[tuple[str, date], Baseline | None] = {}

    def _window(self, on: date):
        return UserDay.objects.filter(day__gte=on - timedelta(days=self.settings.baseline_days), day__lt=on)

    def user(self, username: str, on: date) -> Baseline | None:
        found = self._window(on).filter(username=username).aggregate(mean=Avg("searches") + Avg("views"),
                                                                     days=Count("id"))
        return Baseline(found["mean"] or 0.0, found["days"], "user") if found["days"] else None

    def role(self, role: str, on: date) -> Baseline | None:
        if (role, on) not in self._roles:
            found = self._window(on).filter(role=role).aggregate(mean=Avg("searches") + Avg("views"),
                                                                 days=Count("id"))
            self._roles[(role, on)] = Baseline(found["mean"] or 0.0, found["days"], "role") \
                if found["days"] else None
        return self._roles[(role, on)]

    def out_of_hours_days(self, username: str, on: date) -> int:
        return self._window(on).filter(username=username, out_of_hours__gt=0).count()


def process_batch(keyring: KeyRing, settings: MonitorSettings, *, now: datetime | None = None,
                  baselines: BaselineCache | None = None) -> int:
    """Run the rules over the next batch of new entries. Returns how many entries were read (0: caught up)."""
    baselines = baselines or BaselineCache(settings)
    with transaction.atomic():
        cursor, _ = MonitorCursor.objects.select_for_update().get_or_create(name=CURSOR)
        entries = list(AuditEntry.objects.filter(seq__gt=cursor.seq).order_by("seq")[:settings.batch_size])
        if not entries:
            return 0
        batch = Batch(entries, keyring, settings)
        for entry in entries:
            batch.observe(entry)
        batch.save()  # first: the baselines of later days in this batch include the earlier ones
        batch.judge_days(baselines)
        when = now or timezone.now()
        for finding in batch.findings.values():
            raise_alert(finding, keyring=keyring, now=when)
        cursor.seq, cursor.updated_at = entries[-1].seq, when
        cursor.save(update_fields=["seq", "updated_at"])
    return len(entries)


def catch_up(keyring: KeyRing, settings: MonitorSettings, *, now: datetime | None = None,
             stop: threading.Event | None = None) -> int:
    """Process batches until no entry is left unread (or ``stop`` is set). Returns entries read."""
    baselines, total = BaselineCache(settings), 0
    while stop is None or not stop.is_set():
        read = process_batch(keyring, settings, now=now, baselines=baselines)
        total += read
        if read == 0:
            break
    return total


def lag() -> tuple[int, int]:
    """(entries not yet read by the monitor, the cursor's seq)."""

    head = AuditHead.objects.filter(pk=1).values_list("seq", flat=True).first() or 0
    seq = MonitorCursor.objects.filter(name=CURSOR).values_list("seq", flat=True).first() or 0
    return max(0, head - seq), seq
