"""Login: password, a separate PIN, and a security token (seed: "a security token with separate password and
PIN"). The token is a TOTP device (django-otp; a code once used cannot be used again) or a WebAuthn security key
(django-otp-webauthn, as a second step).

Whatever is wrong (unknown username, wrong password, PIN or code, locked account) the answer is the same words,
and the same work is done (both Argon2 hashes are always checked), so the response does not reveal whether a
username exists. Ten failures for one username, existing or not, lock it for 30 minutes.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.db import transaction
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp_webauthn.models import WebAuthnCredential

from contactpoint.access.models import LoginThrottle, User
from contactpoint.audit.actions import AuditAction, Outcome, Severity
from contactpoint.audit.trail import Actor, record_event
from contactpoint.config import get_settings
from contactpoint.errors import AuthenticationFailed, ValidationError
from contactpoint.vault.keyring import KeyRing

NOT_RIGHT = ("The username, password, PIN or security code is not right. Check them and try again. "
             "After 10 attempts that are not right, sign-in is locked for 30 minutes.")
LOCKED = ("Sign-in is locked for 30 minutes after 10 attempts that were not right. You can try again at {at} (UK "
          "time), or ask your organisation's ContactPoint administrator for help.")


def locked_message(until: datetime) -> str:
    """The lockout, saying when the user may try again (issue 18). The time depends only on the attempts made with
    this username, existing or not, so it says nothing about whether the account exists."""
    local = timezone.localtime(until)
    # Round up to the next minute: "try again at 10:31" must not be a minute too early.
    if local.second or local.microsecond:
        local = local.replace(second=0, microsecond=0) + timedelta(minutes=1)
    return LOCKED.format(at=f"{local:%H:%M}")


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    # Checked against when the username is unknown, so that an unknown username costs the same Argon2 work.
    return make_password("contactpoint-dummy-password-never-valid")


def throttle_key(username: str) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), username.strip().lower().encode(), hashlib.sha256).hexdigest()


def user_actor(user: User) -> Actor:
    return Actor(user.username, user.organisation.code, user.role_code)


def locked_until(username: str, now: datetime) -> datetime | None:
    """When sign-in for this username unlocks, if it is locked now."""
    until = LoginThrottle.objects.filter(key=throttle_key(username)).values_list("locked_until", flat=True).first()
    return until if until and until > now else None


@dataclass(frozen=True)
class LoginOutcome:
    user: User
    device: TOTPDevice | None  # None: the second factor (a security key) is still to come

    @property
    def complete(self) -> bool:
        return self.device is not None


def validate_pin(pin: str) -> str:
    if not pin.isdigit() or not 6 <= len(pin) <= 8:
        raise ValidationError("pin", "a PIN is 6 to 8 digits")
    if len(set(pin)) == 1 or pin in "0123456789012345" or pin in "9876543210987654":
        raise ValidationError("pin", "a PIN must not be a repeated or consecutive run of digits")
    return pin


def _has_security_key(user: User) -> bool:
    return WebAuthnCredential.objects.filter(user=user, confirmed=True).exists()


def authenticate(username: str, password: str, pin: str, code: str, *, now: datetime, keyring: KeyRing,
                 ip: str = "", allow_security_key: bool = True) -> LoginOutcome:
    """Check all three factors. Returns the user (and the TOTP device used), or raises
    ``AuthenticationFailed`` with the same message whatever was wrong."""
    limits = get_settings().session
    key = throttle_key(username)
    throttle, _ = LoginThrottle.objects.get_or_create(key=key)
    user = User.objects.select_related("organisation").filter(username=username.strip().lower()).first()
    actor = user_actor(user) if user else Actor("unknown")
    target = user.username if user else ""
    context = {"ip": ip}

    if throttle.locked_until and throttle.locked_until > now:
        check_password(password, _dummy_hash())  # the same work as any other attempt
        check_password(pin, _dummy_hash())
        record_event(AuditAction.LOGIN_FAILED, actor=actor, keyring=keyring, outcome=Outcome.REFUSED,
                     target_user=target,
                     context={**context, "why": "locked"}, detail=None if user else {"username": username},
                     at=now)
        raise AuthenticationFailed(locked_message(throttle.locked_until), code="locked")

    password_ok = check_password(password, user.password if user else _dummy_hash())
    pin_ok = check_password(pin, user.pin_hash if user and user.pin_hash else _dummy_hash())
    device: TOTPDevice | None = None
    code_ok = False
    awaiting_key = False
    if user and password_ok and pin_ok:
        code = code.strip().replace(" ", "")
        if code:
            for candidate in TOTPDevice.objects.devices_for_user(user, confirmed=True):
                if candidate.verify_token(code):  # records the time step: the same code is refused next time
                    device, code_ok = candidate, True
                    break
        elif allow_security_key:
            awaiting_key = _has_security_key(user)

    if user and password_ok and pin_ok and (code_ok or awaiting_key):
        with transaction.atomic():
            LoginThrottle.objects.filter(key=key).update(failures=0, locked_until=None)
            if code_ok:
                record_event(AuditAction.LOGIN_SUCCEEDED, actor=actor, keyring=keyring, target_user=target,
                             context={**context, "factor": "totp"}, at=now)
            else:  # password and PIN right; the security key is still to come (``LOGIN_SUCCEEDED`` then)
                record_event(AuditAction.LOGIN_AWAITING_KEY, actor=actor, keyring=keyring, target_user=target,
                             context={**context, "factor": "webauthn"}, at=now)
        return LoginOutcome(user, device)

    why = ("unknown_user" if user is None else "password" if not password_ok else "pin" if not pin_ok
           else "code")
    with transaction.atomic():
        throttle = LoginThrottle.objects.select_for_update().get(key=key)
        throttle.failures += 1
        throttle.last_failure_at = now
        locked = throttle.failures >= limits.login_attempts_before_lockout
        if locked:
            throttle.locked_until = now + timedelta(minutes=limits.lockout_minutes)
            throttle.failures = 0
        throttle.save()
        record_event(AuditAction.LOGIN_FAILED, actor=actor, keyring=keyring, outcome=Outcome.REFUSED,
                     target_user=target,
                     context={**context, "why": why}, detail=None if user else {"username": username}, at=now)
        if locked:
            record_event(AuditAction.ACCOUNT_LOCKED, actor=actor, keyring=keyring, outcome=Outcome.REFUSED,
                         target_user=target,
                         severity=Severity.WARNING, context={**context, "minutes": limits.lockout_minutes},
                         detail=None if user else {"username": username}, at=now)
    if locked:
        raise AuthenticationFailed(locked_message(now + timedelta(minutes=limits.lockout_minutes)), code="locked")
    raise AuthenticationFailed(NOT_RIGHT, code="not_right")
