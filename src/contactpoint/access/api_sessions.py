"""Bearer tokens for case-management systems acting for a practitioner (``POST /api/v1/session``).

The practitioner's own password, PIN and TOTP code open one; it carries the same rules as a web session: idle
for 15 minutes or open for 12 hours ends it, so does any change to the account, and every precondition is
checked on every request.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from contactpoint.access import preconditions
from contactpoint.access.authentication import authenticate, user_actor
from contactpoint.access.models import ApiSession, User
from contactpoint.audit.actions import AuditAction, Outcome
from contactpoint.audit.trail import record_event
from contactpoint.config import get_settings
from contactpoint.errors import AuthenticationFailed
from contactpoint.vault.keyring import KeyRing

_ENDED = "The session has ended. Open a new one with POST /api/v1/session."


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(username: str, password: str, pin: str, otp: str, *, now: datetime, keyring: KeyRing,
                 ip: str = "") -> tuple[str, ApiSession]:
    # A security key needs a browser: machine clients use the TOTP token, so no code means a wrong code.
    outcome = authenticate(username, password, pin, otp, now=now, keyring=keyring, ip=ip, allow_security_key=False)
    user = outcome.user
    preconditions.require(user, timezone.localdate(now))
    token = "cps_" + secrets.token_urlsafe(32)
    with transaction.atomic():
        session = ApiSession.objects.create(user=user, token_hash=_hash(token), created_at=now, last_used_at=now,
                                            session_epoch=user.session_epoch)
        record_event(AuditAction.API_SESSION_ISSUED, actor=user_actor(user), keyring=keyring, at=now,
                     target_user=user.username,
                     context={"session": session.pk, "ip": ip})
    return token, session


def user_for_token(token: str, *, now: datetime, keyring: KeyRing) -> User:
    """The practitioner behind a bearer token, if the session is still good and every precondition holds."""
    session = ApiSession.objects.select_related("user__organisation").filter(token_hash=_hash(token)).first()
    if session is None or session.ended_at is not None:
        raise AuthenticationFailed(_ENDED, code="session_ended")
    limits = get_settings().session
    user = session.user
    why = None
    if session.session_epoch != user.session_epoch:
        why = "account_changed"
    elif now - session.last_used_at > timedelta(minutes=limits.idle_minutes):
        why = "idle"
    elif now - session.created_at > timedelta(hours=limits.absolute_hours):
        why = "absolute"
    failed = [] if why else preconditions.lapses(user, timezone.localdate(now))
    if why or failed:
        with transaction.atomic():
            ApiSession.objects.filter(pk=session.pk).update(ended_at=now)
            record_event(AuditAction.SESSION_ENDED, actor=user_actor(user), keyring=keyring, at=now,
                         target_user=user.username,
                         outcome=Outcome.REFUSED, context={"why": why or "precondition", "api": True,
                                                           "precondition": failed[0].key if failed else ""})
        if failed:
            raise failed[0].error()
        raise AuthenticationFailed(_ENDED, code="session_ended")
    if now - session.last_used_at > timedelta(seconds=30):  # idle time is measured in minutes: spare the writes
        ApiSession.objects.filter(pk=session.pk).update(last_used_at=now)
    return user


def close_session(token: str, *, now: datetime) -> None:
    ApiSession.objects.filter(token_hash=_hash(token), ended_at__isnull=True).update(ended_at=now)
