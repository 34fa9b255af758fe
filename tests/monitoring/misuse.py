"""Each kind of misuse the monitor must catch, written into the trail the way the services would write it.

A scenario takes the world, the user who misbehaves and the day, and returns the label its alert must carry:
(rule, the user's username), or (rule, "address:<ip>") for password spraying, (rule, "") for the trail.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

from contactpoint.access.models import User
from contactpoint.audit.actions import AuditAction, Outcome, Severity
from contactpoint.audit.trail import Actor, record_event
from contactpoint.records.involvements import org_token
from contactpoint.records.models import PractitionerInvolvement
from tests.monitoring.seed import Staff, World, at_local


def volume(w: World, s: Staff, on: date) -> None:
    for n in range(70):
        at = at_local(on, 9) + timedelta(minutes=6 * n)
        kid = w.rng.choice(w.home_kids)
        w.search(s, at, kid=kid)
        if not kid.shielded:
            w.view(s, at + timedelta(seconds=20), kid)


def own_name(w: World, s: Staff, on: date) -> None:
    w.search(s, at_local(on, 10, 5), family=s.family)


def own_postcode(w: World, s: Staff, on: date) -> None:
    kid = w.rng.choice(w.home_kids)
    w.search(s, at_local(on, 11, 20), kid=kid, with_postcode=s.postcode)


def shielded_view(w: World, s: Staff, on: date) -> None:
    involved = set(PractitionerInvolvement.objects.filter(org_token=org_token(w.keyring, s.user.organisation.code))
                   .values_list("child__cpid", flat=True))
    kid = next(k for k in w.kids if k.shielded and k.cpid not in involved)
    w.search(s, at_local(on, 14), kid=kid)
    w.view(s, at_local(on, 14, 1), kid)


def shield_override(w: World, s: Staff, on: date) -> None:
    kid = next(k for k in w.kids if k.shielded)
    w.record(AuditAction.SHIELD_OVERRIDE, s, at_local(on, 15), reason="child_protection", subjects=[kid.cpid],
             severity=Severity.ALERT, context={"responsible_la": kid.la})


def out_of_hours(w: World, s: Staff, on: date) -> None:
    for n in range(4):
        kid = w.rng.choice(w.home_kids)
        w.search(s, at_local(on, 23, 5 + 10 * n), kid=kid)
        w.view(s, at_local(on, 23, 6 + 10 * n), kid)


def out_of_area(w: World, s: Staff, on: date) -> None:
    for n, kid in enumerate(w.other_kids[-4:]):
        w.search(s, at_local(on, 10, 10 * n), kid=kid)
        w.view(s, at_local(on, 10, 10 * n + 1), kid)


def search_no_view(w: World, s: Staff, on: date) -> None:
    for n in range(30):
        w.search(s, at_local(on, 9) + timedelta(minutes=9 * n))


def too_many(w: World, s: Staff, on: date) -> None:
    for n in range(6):
        w.search(s, at_local(on, 13) + timedelta(minutes=4 * n), too_many=True)
    w.search(s, at_local(on, 13, 40))


def rate_limited(w: World, s: Staff, on: date) -> None:
    w.record(AuditAction.SEARCH_RATE_LIMITED, s, at_local(on, 12), outcome=Outcome.REFUSED, severity=Severity.ALERT,
             reason="child_protection", context={"code": "rate_limited"})


def clearance(w: World, s: Staff, on: date) -> None:
    # Cleared three years before "20 days after the day": the clearance lapses 20 days later.
    expires = on + timedelta(days=20)
    User.objects.filter(pk=s.user.pk).update(clearance_date=expires.replace(year=expires.year - 3))
    kid = w.rng.choice(w.home_kids)
    w.search(s, at_local(on, 10), kid=kid)
    w.view(s, at_local(on, 10, 1), kid)


def login_burst(w: World, s: Staff, on: date) -> None:
    for n in range(7):
        w.login_failed(s, at_local(on, 8) + timedelta(seconds=40 * n), "192.0.2.7")


SPRAY_ADDRESS = "198.51.100.23"


def password_spray(w: World, s: Staff, on: date) -> str:
    for n in range(25):
        w.login_failed(None, at_local(on, 3) + timedelta(seconds=20 * n), SPRAY_ADDRESS, username=f"guess{n}")
    return f"address:{SPRAY_ADDRESS}"


def audit_trail(w: World, s: Staff, on: date) -> str:
    record_event(AuditAction.AUDIT_VERIFIED, actor=Actor.system("audit-verify"), keyring=w.keyring,
                 at=at_local(on, 4), outcome=Outcome.FAILED, severity=Severity.ALERT,
                 context={"problem": "entry 12 has been altered", "first_bad_seq": 12})
    return ""


# (rule it must raise, scenario)
SCENARIOS: dict[str, tuple[str, Callable[..., object]]] = {
    "volume": ("volume", volume),
    "own_name": ("own_name", own_name),
    "own_postcode": ("own_name", own_postcode),
    "shielded_view": ("shielded_view", shielded_view),
    "shield_override": ("shield_override", shield_override),
    "out_of_hours": ("out_of_hours", out_of_hours),
    "out_of_area": ("out_of_area", out_of_area),
    "search_no_view": ("search_no_view", search_no_view),
    "too_many": ("too_many", too_many),
    "rate_limited": ("rate_limited", rate_limited),
    "clearance": ("clearance", clearance),
    "login_burst": ("login_burst", login_burst),
    "password_spray": ("login_burst", password_spray),
    "audit_trail": ("audit_trail", audit_trail),
}


def play(name: str, w: World, s: Staff, on: date) -> tuple[str, str]:
    rule, scenario = SCENARIOS[name]
    label = scenario(w, s, on)
    return rule, s.user.username if label is None else label


def alert_label(alert) -> tuple[str, str]:
    if alert.subject_user:
        return alert.rule, alert.subject_user
    if alert.evidence.get("address"):
        return alert.rule, f"address:{alert.evidence['address']}"
    return alert.rule, ""
