"""A synthetic audit trail for the monitor: organisations, users, children, and weeks of practitioner activity,
written through ``record_event`` exactly as the search and record services write it.

Family names follow a Zipf-like law fitted to England's surnames (the commonest about 1.2% of people, the 100th
about 0.1%, the 1,000th about 0.01%): users and children draw from the same law, so a practitioner meets
children who share their own family name as often as they would at work.
"""

from __future__ import annotations

import random
from bisect import bisect
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from itertools import accumulate
from zoneinfo import ZoneInfo

from stdnum.iso7064 import mod_37_36

from contactpoint.access.models import Organisation, User
from contactpoint.audit.actions import AuditAction, Outcome
from contactpoint.audit.trail import Actor, record_event
from contactpoint.children.models import Child
from contactpoint.monitoring.identity import family_tokens, postcode_token
from contactpoint.monitoring.models import WatchedIdentity
from contactpoint.records.involvements import org_token
from contactpoint.records.models import PractitionerInvolvement

LONDON = ZoneInfo("Europe/London")
HOME_LA, OTHER_LA = "202", "204"

_A = ("Ash", "Bar", "Brad", "Carr", "Dal", "Ed", "Fair", "Gar", "Hal", "Har", "Kel", "Lang", "Mar", "North",
      "Pen", "Rad", "Red", "Shel", "Stan", "Thorn", "Wal", "War", "West", "Whit", "Wood", "Bell", "Brom", "Cal",
      "Dun", "Ful", "Gold", "Hart", "Kings", "Law", "Mil", "Newt", "Oak", "Pres", "Ross", "Sand")
_B = ("", "a", "e", "i", "o", "er", "en", "ing", "ow", "ley", "bo", "ri", "ma", "ton", "de", "la", "ver", "wi",
      "na", "sel")
_C = ("by", "ford", "ham", "ton", "well", "wood", "field", "more", "ley", "son", "worth", "stone", "bridge",
      "croft", "den", "dale", "hurst", "land", "wick", "combe", "ell", "er", "man", "sey", "shaw", "cott", "low",
      "mere", "ridge", "thwaite")


def surnames(n: int = 20_000) -> list[str]:
    names, seen = [], set()
    for a in _A:
        for b in _B:
            for c in _C:
                name = a + b + c
                if name.upper() not in seen:
                    seen.add(name.upper())
                    names.append(name)
    rng = random.Random(7)
    rng.shuffle(names)
    return names[:n]


class SurnameLaw:
    def __init__(self, n: int = 20_000) -> None:
        self.names = surnames(n)
        self.cumulative = list(accumulate(1.0 / (r + 10) for r in range(1, len(self.names) + 1)))

    def draw(self, rng: random.Random) -> str:
        return self.names[bisect(self.cumulative, rng.random() * self.cumulative[-1])]

    def rank(self, name: str) -> int:
        return self.names.index(name) + 1


def postcode(rng: random.Random) -> str:
    return f"{rng.choice(('NW1', 'NW3', 'N7'))} {rng.randint(0, 9)}{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}" \
           f"{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}"


@dataclass
class Kid:
    cpid: str
    family: str
    given: str
    dob: date
    postcode: str
    la: str
    shielded: bool


@dataclass
class Staff:
    user: User
    family: str
    postcode: str
    rate: float  # mean searches per working day
    night: bool = False

    @property
    def actor(self) -> Actor:
        return Actor(self.user.username, self.user.organisation.code, self.user.role_code)


def cpid_for(n: int) -> str:
    body = f"{10_000_000_000 + n:011d}"
    return body + mod_37_36.calc_check_digit(body)


@dataclass
class World:
    rng: random.Random
    law: SurnameLaw
    keyring: object
    kids: list[Kid] = field(default_factory=list)
    staff: list[Staff] = field(default_factory=list)
    home_kids: list[Kid] = field(default_factory=list)
    other_kids: list[Kid] = field(default_factory=list)
    events: int = 0

    # -- building ---------------------------------------------------------------------------------------------

    def build(self, *, users: int, children: int, now: datetime) -> None:
        la = Organisation.objects.get(code=f"LA-{HOME_LA}")
        schools = [Organisation.objects.create(code=f"SCH-{i}", name=f"School {i}", kind="school", la_code=HOME_LA,
                                               vouched_by=la) for i in range(10)]
        health = Organisation.objects.create(code="NHS-1", name="Camden health visiting", kind="health",
                                             la_code=HOME_LA, vouched_by=la)
        rows = []
        for n in range(children):
            la_code = HOME_LA if n % 10 else OTHER_LA
            kid = Kid(cpid_for(n), self.law.draw(self.rng), self.rng.choice(("Amelia", "Noah", "Ivy", "Leo", "Ava")),
                      date(2010, 1, 1) + timedelta(days=self.rng.randint(0, 5000)), postcode(self.rng), la_code,
                      shielded=n % 300 == 7)
            self.kids.append(kid)
            (self.home_kids if la_code == HOME_LA else self.other_kids).append(kid)
            rows.append(Child(id=10_000_000_000 + n, cpid=kid.cpid, shielded=kid.shielded, responsible_la=la_code,
                              review_month=date(2028, 1, 1), created_at=now, updated_at=now, names=b"", birth=b"",
                              identifiers=b"", whereabouts=b"", carers=b"", education=b"", gp=b"",
                              involvements=b"", source_ids=b""))
        Child.objects.bulk_create(rows, batch_size=2000)
        people = []
        for n in range(users):
            kind = n % 10
            org, role = ((la, "sch3-1a") if kind < 4 else (schools[n % 10], "sch3-9") if kind < 7
                         else (health, "sch3-2"))
            cleared = date(2024, 1, 1) + timedelta(days=self.rng.randint(0, 800))  # expires 2027 or later
            people.append(User(username=f"user{n:04d}", full_name=f"User {n}", organisation=org, role_code=role,
                               granted_at=now, clearance_date=cleared, training_completed_on=date(2024, 1, 1),
                               password="!", must_change_credentials=False))
        User.objects.bulk_create(people)
        watched = []
        for n, user in enumerate(User.objects.filter(username__startswith="user").select_related("organisation")
                                 .order_by("username")):
            family, home = self.law.draw(self.rng), postcode(self.rng)
            rate = 7.0 if user.role_code == "sch3-1a" else 3.0
            self.staff.append(Staff(user, family, home, rate * self.rng.uniform(0.6, 1.4), night=n % 100 == 99))
            watched.append(WatchedIdentity(user=user, family_tokens=sorted(family_tokens(self.keyring, [family])),
                                           postcode_token=postcode_token(self.keyring, home), recorded_at=now))
        WatchedIdentity.objects.bulk_create(watched)
        # Practitioners record their involvement with some children outside their area, and with shielded ones.
        inv = []
        nurse = next(s for s in self.staff if s.user.role_code == "sch3-2")
        for n, kid in enumerate(self.other_kids[:40] + [k for k in self.kids if k.shielded]):
            s = nurse if kid.shielded else self.staff[n % len(self.staff)]
            inv.append(PractitionerInvolvement(child_id=int(kid.cpid[:11]), key=f"inv-{n}", user=s.user,
                                               org_token=org_token(self.keyring, s.user.organisation.code),
                                               payload=b"", created_at=now, updated_at=now))
        PractitionerInvolvement.objects.bulk_create(inv)

    # -- events -------------------------------------------------------------------------------------------------

    def record(self, action, staff: Staff, at: datetime, **kwargs):
        self.events += 1
        return record_event(action, actor=staff.actor, keyring=self.keyring, at=at.astimezone(UTC), **kwargs)

    def search(self, staff: Staff, at: datetime, *, family: str | None = None, kid: Kid | None = None,
               with_postcode: str | None = None, too_many: bool = False, reason: str = "child_protection"):
        kid = kid or self.rng.choice(self.home_kids)
        criteria = {"family": family or kid.family, "birthdate": kid.dob.isoformat(), "given": kid.given}
        if with_postcode:
            criteria["postcode"] = with_postcode
        if too_many:
            return self.record(AuditAction.SEARCH_REFUSED, staff, at, outcome=Outcome.REFUSED, reason=reason,
                               context={"code": "too_many_matches", "rule": "family_dob"},
                               detail={"criteria": criteria})
        return self.record(AuditAction.SEARCH, staff, at, reason=reason, subjects=[kid.cpid],
                           context={"rule": "family_dob", "fuzzy": False, "results": 1},
                           detail={"criteria": criteria})

    def view(self, staff: Staff, at: datetime, kid: Kid, reason: str = "child_protection"):
        return self.record(AuditAction.RECORD_VIEWED, staff, at, reason=reason, subjects=[kid.cpid],
                           context={"shielded": kid.shielded, "override": False})

    def login_failed(self, staff: Staff | None, at: datetime, ip: str, username: str = ""):
        actor = staff.actor if staff else Actor("unknown")
        self.events += 1
        return record_event(AuditAction.LOGIN_FAILED, actor=actor, keyring=self.keyring, at=at.astimezone(UTC),
                            outcome=Outcome.REFUSED, target_user=staff.user.username if staff else "",
                            context={"ip": ip, "why": "password" if staff else "unknown_user"},
                            detail=None if staff else {"username": username})

    def benign_day(self, staff: Staff, on: date) -> None:
        rng = self.rng
        if staff.night:
            if rng.random() > 0.5:
                return
            start, span = time(20, 30), 5 * 3600  # an emergency duty social worker, evenings and nights
        else:
            if on.weekday() >= 5 or rng.random() > 0.85:
                return
            start, span = time(8, 15), 9 * 3600
        base = datetime.combine(on, start, tzinfo=LONDON)
        moments = sorted(base + timedelta(seconds=rng.randint(0, span)) for _ in range(
            max(0, int(rng.gauss(staff.rate, 1.5)))))
        if not moments:
            return
        ip = f"10.{staff.user.pk % 200}.{rng.randint(0, 9)}.1"
        first = moments[0] - timedelta(minutes=2)
        if rng.random() < 0.04:  # a mistyped password now and then
            self.login_failed(staff, first - timedelta(minutes=1), ip)
        self.record(AuditAction.LOGIN_SUCCEEDED, staff, first, target_user=staff.user.username,
                    context={"ip": ip, "factor": "totp"})
        for at in moments:
            roll = rng.random()
            pool = self.other_kids if rng.random() < 0.02 else self.home_kids
            kid = rng.choice(pool)
            if roll < 0.03:
                self.search(staff, at, too_many=True)
                continue
            postcode_given = kid.postcode if rng.random() < 0.2 else None
            self.search(staff, at, kid=kid, with_postcode=postcode_given)
            if rng.random() < 0.75 and not kid.shielded:
                self.view(staff, at + timedelta(seconds=40), kid)

    def benign(self, first: date, days: int, skip: set[str] = frozenset()) -> None:
        for offset in range(days):
            on = first + timedelta(days=offset)
            for staff in self.staff:
                if staff.user.username not in skip:
                    self.benign_day(staff, on)


def at_local(on: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(on, time(hour, minute), tzinfo=LONDON)

