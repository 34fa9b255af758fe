"""Who is calling, and may they do this? One auth object per operation, holding the ``Permission`` it needs.

Two kinds of caller, never interchangeable (DESIGN.md section 1 "Who may use it"):

- a case-management system acting for a practitioner, with the bearer token ``POST /api/v1/session`` gave it
  (``cps_...``). Every call re-checks the session and every condition of access (``user_for_token``), as
  ``AccessMiddleware`` does for web pages, then the role's permission;
- a source system, with its API key (``cpk_...``). It may submit feeds and read its own discrepancies, and
  nothing else: it can never search.

A key presented where a practitioner token is needed (or the other way round) is refused with 403 and audited,
so that a misconfigured client learns at once what is wrong. Refusals by role are audited like the web's.
"""

from __future__ import annotations

from django.http import HttpRequest
from django.utils import timezone
from ninja.security import HttpBearer

from contactpoint.access.api_sessions import user_for_token
from contactpoint.access.authentication import user_actor
from contactpoint.access.models import User
from contactpoint.access.roles import SOURCE_SCOPES, Permission
from contactpoint.access.sources import (
    SourcePrincipal,
    audit_refused_source,
    authenticate_source,
    source_actor,
)
from contactpoint.audit.actions import AuditAction, Outcome
from contactpoint.audit.trail import Actor, record_event
from contactpoint.errors import AuthenticationFailed, PermissionDenied
from contactpoint.vault.keyring import get_keyring
from contactpoint.web.middleware import client_ip

PRACTITIONER_PREFIX = "cps_"
SOURCE_PREFIX = "cpk_"
NOT_VALID = "The bearer token is not valid. Open a session with POST /api/v1/session."
KEY_CANNOT = ("A source system's API key can only submit feeds and read its discrepancies; it can never "
              "search or open a record.")
TOKEN_CANNOT = ("A practitioner's session token cannot submit feeds or read a source's discrepancies; use "
                "the source system's API key.")


class PractitionerRequest(HttpRequest):
    """The request of an operation guarded by ``PractitionerToken``: django-ninja sets ``auth`` to what
    ``authenticate`` returned, and ``authenticate`` sets ``api_token``. A type for the checker only: at run
    time it is Django's own request."""

    auth: User
    api_token: str


class SourceRequest(HttpRequest):
    """The request of an operation guarded by ``SourceKey``: ``auth`` is the source system's principal."""

    auth: SourcePrincipal


def _refuse(actor: Actor, request: HttpRequest, permission: Permission, message: str, *,
            target_user: str = ""):
    record_event(AuditAction.ACCESS_REFUSED, actor=actor, keyring=get_keyring(), outcome=Outcome.REFUSED,
                 target_user=target_user, at=timezone.now(),
                 context={"path": request.path, "method": request.method, "permission": str(permission),
                          "api": True})
    raise PermissionDenied(message)


class PractitionerToken(HttpBearer):
    """A practitioner's session token, and a role holding ``permission``."""

    def __init__(self, permission: Permission) -> None:
        if permission in SOURCE_SCOPES:
            raise ValueError("source-system permissions are for SourceKey")
        super().__init__()
        self.permission = permission

    def authenticate(self, request: HttpRequest, token: str) -> User:
        now = timezone.now()
        if token.startswith(SOURCE_PREFIX):
            try:
                principal = authenticate_source(token, now=now)
            except AuthenticationFailed:
                raise AuthenticationFailed(NOT_VALID) from None
            _refuse(source_actor(principal.source), request, self.permission, KEY_CANNOT)
        if not token.startswith(PRACTITIONER_PREFIX) or len(token) > 200:
            raise AuthenticationFailed(NOT_VALID)
        user = user_for_token(token, now=now, keyring=get_keyring())
        if not user.has(self.permission):
            _refuse(user_actor(user), request, self.permission,
                    "Your role does not allow this. Contact your organisation's ContactPoint administrator "
                    "if you think it should.", target_user=user.username)
        request.api_token = token  # type: ignore[attr-defined]
        return user


class SourceKey(HttpBearer):
    """A source system's API key scoped to ``permission``."""

    def __init__(self, permission: Permission) -> None:
        if permission not in SOURCE_SCOPES:
            raise ValueError("SourceKey guards only source-system permissions")
        super().__init__()
        self.permission = permission

    def authenticate(self, request: HttpRequest, token: str) -> SourcePrincipal:
        now = timezone.now()
        if token.startswith(PRACTITIONER_PREFIX):
            user = user_for_token(token, now=now, keyring=get_keyring())
            _refuse(user_actor(user), request, self.permission, TOKEN_CANNOT, target_user=user.username)
        if len(token) > 200:
            raise AuthenticationFailed(NOT_VALID)
        try:
            principal = authenticate_source(token, now=now)
        except AuthenticationFailed:
            audit_refused_source(token, now=now, keyring=get_keyring(), ip=client_ip(request))
            raise
        if not principal.has(self.permission):
            _refuse(source_actor(principal.source), request, self.permission,
                    "This API key is not scoped for this operation. Ask your administrator for a key that "
                    "is.")
        return principal


def required_permission(auth: object) -> Permission | None:
    """The permission an operation's auth object declares (None: the operation is public)."""
    return getattr(auth, "permission", None)
