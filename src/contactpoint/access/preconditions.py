"""The conditions of access, checked on every request (seed, answer to 231717; DESIGN.md section 1).

A user may use ContactPoint only while all of these hold. The first that fails is reported with what to do,
and every session of the user ends on its next request.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django_otp import devices_for_user
from django_otp.plugins.otp_totp.models import TOTPDevice

from contactpoint.access.models import PolicyVersion, User
from contactpoint.dates import anniversary
from contactpoint.errors import NotFound, PreconditionFailed

CLEARANCE_YEARS = 3  # enhanced criminal records clearance is renewable every three years
CLEARANCE_WARNING_DAYS = 60


@dataclass(frozen=True)
class Lapse:
    key: str
    message: str
    action: str

    def error(self) -> PreconditionFailed:
        return PreconditionFailed(self.key, self.message, self.action)


ASK_ADMIN = "Ask your organisation's ContactPoint administrator"

LAPSES = {
    "organisation_accredited": Lapse(
        "organisation_accredited", "Your organisation's accreditation to use ContactPoint is suspended.",
        "Your organisation must contact its local authority ContactPoint team to have it reinstated."),
    "access_granted": Lapse(
        "access_granted", "You have not been granted access to ContactPoint, or your access has been revoked.",
        f"{ASK_ADMIN} to grant you access."),
    "account_active": Lapse(
        "account_active", "Your account is suspended.", f"{ASK_ADMIN} to reinstate it."),
    "clearance_current": Lapse(
        "clearance_current", "Your enhanced criminal records clearance is not recorded or is more than 3 years old.",
        f"Renew your enhanced DBS check and {ASK_ADMIN.lower()[0]}{ASK_ADMIN[1:]} to record it."),
    "training_completed": Lapse(
        "training_completed", "You have not completed the compulsory ContactPoint training.",
        "Complete the training; your organisation's ContactPoint administrator will then record it."),
    "policy_signed": Lapse(
        "policy_signed", "You have not signed the current acceptable use policy.",
        "Sign in and read and sign the acceptable use policy."),
    "second_factor_enrolled": Lapse(
        "second_factor_enrolled", "You do not have a security token enrolled.",
        f"{ASK_ADMIN} to enrol a security token for you."),
}


def current_policy_version() -> int | None:
    return PolicyVersion.objects.order_by("-version").values_list("version", flat=True).first()


def clearance_expires(user: User) -> date | None:
    return anniversary(user.clearance_date, CLEARANCE_YEARS) if user.clearance_date else None


def has_second_factor(user: User) -> bool:
    # Checked on every request. On the web, django-otp's middleware has just loaded the session's device and
    # dropped it unless it is this user's and confirmed: no need to ask again. Otherwise the common case (a
    # TOTP token) in one query before asking every device type.
    if getattr(user, "otp_device", None) is not None:
        return True
    if TOTPDevice.objects.filter(user=user, confirmed=True).exists():
        return True
    return any(True for _ in devices_for_user(user, confirmed=True))


def lapses(user: User, today: date, *, policy_version: int | None = None, check_policy: bool = True) -> list[Lapse]:
    """Every failed precondition, in the order a user should fix them (empty when all hold)."""
    found: list[Lapse] = []
    if not user.organisation.is_accredited or (
            user.organisation.granting_body != user.organisation and not user.organisation.granting_body.is_accredited):
        found.append(LAPSES["organisation_accredited"])
    if user.granted_at is None or user.revoked_at is not None:
        found.append(LAPSES["access_granted"])
    if not user.is_active or user.suspended_at is not None:
        found.append(LAPSES["account_active"])
    expires = clearance_expires(user)
    if expires is None or expires <= today:
        found.append(LAPSES["clearance_current"])
    if user.training_completed_on is None:
        found.append(LAPSES["training_completed"])
    if check_policy:
        version = current_policy_version() if policy_version is None else policy_version
        if version is not None and (user.policy_version_signed or 0) < version:
            found.append(LAPSES["policy_signed"])
    if not has_second_factor(user):
        found.append(LAPSES["second_factor_enrolled"])
    return found


def require(user: User, today: date) -> None:
    """Raise ``PreconditionFailed`` for the first condition that does not hold."""
    failed = lapses(user, today)
    if failed:
        raise failed[0].error()


def acting_user(username: str, today: date) -> User:
    """The named person a command acts as, once every condition of access holds for them today: a lapsed
    condition refuses on the command line as it does on the web."""
    user = User.objects.select_related("organisation").filter(username=username).first()
    if user is None:
        raise NotFound(f"no user '{username}'")
    require(user, today)
    return user


def clearance_warning(user: User, today: date) -> date | None:
    """The expiry date, if the user's clearance lapses within the warning period (shown on every page)."""
    expires = clearance_expires(user)
    if expires is not None and today < expires and (expires - today).days <= CLEARANCE_WARNING_DAYS:
        return expires
    return None
