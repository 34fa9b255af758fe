"""The monitoring rules (DESIGN.md section 4 "Monitoring rules"): what each looks for, as plain functions over
counts the engine keeps, so that each can be tested and tuned on its own.

A rule never reads a child's record. It sees audit entries (who, when, what, which IDs, the outcome), the
user's account (role, organisation, clearance date), the decrypted criteria of a search (in memory only, for
the own-name rule) and, for the area rule, a child's responsible local authority and whether the user's
organisation has a recorded involvement.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from contactpoint.monitoring.thresholds import MonitorSettings


class Rule(StrEnum):
    VOLUME = "volume"
    OWN_NAME = "own_name"
    SHIELDED_VIEW = "shielded_view"
    SHIELD_OVERRIDE = "shield_override"
    OUT_OF_HOURS = "out_of_hours"
    OUT_OF_AREA = "out_of_area"
    SEARCH_NO_VIEW = "search_no_view"
    TOO_MANY = "too_many"
    RATE_LIMITED = "rate_limited"
    CLEARANCE = "clearance"
    LOGIN_BURST = "login_burst"
    AUDIT_TRAIL = "audit_trail"


TITLES: dict[Rule, str] = {
    Rule.VOLUME: "Far more searches and views than usual",
    Rule.OWN_NAME: "Searched for their own family name or home postcode",
    Rule.SHIELDED_VIEW: "Viewed a shielded record with no recorded involvement",
    Rule.SHIELD_OVERRIDE: "Overrode shielding on a record",
    Rule.OUT_OF_HOURS: "Used ContactPoint outside working hours",
    Rule.OUT_OF_AREA: "Viewed records outside their area with no recorded involvement",
    Rule.SEARCH_NO_VIEW: "Many searches without opening any record",
    Rule.TOO_MANY: "Repeated searches refused as too many matches",
    Rule.RATE_LIMITED: "Reached the search rate limit",
    Rule.CLEARANCE: "Used by an account whose criminal records clearance is about to lapse",
    Rule.LOGIN_BURST: "A burst of refused sign-ins",
    Rule.AUDIT_TRAIL: "The audit trail is not intact, or its checkpoints have stopped",
}


def in_working_hours(local: datetime, settings: MonitorSettings) -> bool:
    """Monday to Friday, ``work_start_hour`` to ``work_end_hour`` local time. Bank holidays count as working
    days: a rule that misses a holiday is safer than one that silences a weekday."""
    if local.weekday() >= 5:
        return False
    return settings.work_start_hour <= local.hour < settings.work_end_hour


@dataclass(frozen=True)
class Baseline:
    """A user's (or, for a new user, their role's) normal daily searches + views."""

    mean: float
    days: int
    source: str  # "user" or "role"


def volume_limit(user: Baseline | None, role: Baseline | None, settings: MonitorSettings) -> tuple[int, str]:
    """The most searches + views in a day that raise no alert, and what it was based on."""
    limit, basis = settings.volume_floor, "floor"
    if user is not None and user.days >= settings.baseline_min_days:
        candidate = int(user.mean * settings.volume_user_factor)
        if candidate > limit:
            limit, basis = candidate, "user"
    elif role is not None and role.days > 0:
        candidate = int(role.mean * settings.volume_role_factor)
        if candidate > limit:
            limit, basis = candidate, "role"
    return limit, basis


def searches_without_views(searches: int, views: int, settings: MonitorSettings) -> bool:
    return searches >= settings.no_view_min_searches and views * 100 <= searches * settings.no_view_max_percent


def surname_is_common(count: int, total: int, settings: MonitorSettings) -> bool:
    """A surname searched this often by everyone is one a practitioner who bears it meets at work every day:
    a search for it is no sign of anything. Until enough searches are counted nothing is judged common."""
    return total >= settings.own_name_warmup and count > total * settings.own_name_common_share


def clearance_lapses_soon(expires: date | None, on: date, settings: MonitorSettings) -> bool:
    return expires is not None and (expires - on).days <= settings.clearance_days


@dataclass
class Finding:
    """What a rule found; the engine turns it into an Alert (idempotently, by ``key``)."""

    rule: Rule
    key: str
    subject_user: str
    subject_org: str
    occurred_at: datetime
    entries: list[int] = field(default_factory=list)
    subjects: list[str] = field(default_factory=list)
    evidence: dict = field(default_factory=dict)
    severity: str = "alert"
