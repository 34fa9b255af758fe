"""Source systems as machine clients (issue: "hashed API keys with scopes, rotation"). A source system may
submit feeds and read its own discrepancy reports; it holds no role and can never search.

A key looks like ``cpk_<prefix>_<secret>``: the prefix finds the key (and names it in logs), the secret is
256 random bits of which only a SHA-256 is stored, compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction

from contactpoint.access.administration import organisations_in_scope
from contactpoint.access.authentication import user_actor
from contactpoint.access.models import Organisation, SourceKey, SourceSystem, User
from contactpoint.access.roles import SOURCE_SCOPES, Permission
from contactpoint.audit.actions import AuditAction, Outcome
from contactpoint.audit.trail import Actor, record_event
from contactpoint.errors import AuthenticationFailed, PermissionDenied, ValidationError
from contactpoint.vault.keyring import KeyRing

SOURCE_KINDS = ("school_census", "gp_registrations", "child_benefit", "la_social_care", "health", "other")
ROTATION_GRACE = timedelta(days=7)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def source_actor(source: SourceSystem) -> Actor:
    return Actor(f"source:{source.code}", source.organisation.code, "source-system")


def _require_manager(admin: User, org: Organisation) -> None:
    if not admin.has(Permission.ORG_SOURCES_MANAGE):
        raise PermissionDenied("Only an organisation administrator can manage source systems.")
    if not organisations_in_scope(admin).filter(pk=org.pk).exists():
        raise PermissionDenied("That source system belongs to an organisation you do not administer.")


MAX_EXPECTED_HOURS = 24 * 92  # a source that sends less often than quarterly is not watched for silence


def register_source(admin: User | None, *, code: str, name: str, kind: str, organisation: Organisation,
                    now: datetime, keyring: KeyRing, actor: Actor | None = None,
                    expected_every_hours: int | None = None) -> SourceSystem:
    """``admin`` is None when the operator registers a national source from the command line.
    ``expected_every_hours``: how often it should send (the worker alerts the operator when it goes quiet)."""
    if admin is not None:
        _require_manager(admin, organisation)
    code = code.strip().lower()
    if len(code) > 64 or len(name) > 200:
        raise ValidationError("code", "codes are at most 64 characters and names 200")
    if not code or not code.replace("-", "").isalnum():
        raise ValidationError("code", "use lower-case letters, numbers and hyphens")
    if SourceSystem.objects.filter(code=code).exists():
        raise ValidationError("code", "a source system with that code already exists")
    if kind not in SOURCE_KINDS:
        raise ValidationError("kind", f"choose one of {', '.join(SOURCE_KINDS)}")
    _check_interval(expected_every_hours)
    with transaction.atomic():
        source = SourceSystem.objects.create(code=code, name=name.strip() or code, kind=kind,
                                             organisation=organisation, expected_every_hours=expected_every_hours)
        record_event(AuditAction.SOURCE_REGISTERED, actor=user_actor(admin) if admin else actor or
                     Actor.system("users"), keyring=keyring, at=now,
                     context={"source": code, "kind": kind, "organisation": organisation.code,
                              "expected_every_hours": expected_every_hours})
    return source


def _check_interval(hours: int | None) -> None:
    if hours is not None and not 1 <= hours <= MAX_EXPECTED_HOURS:
        raise ValidationError("expected_every_hours", f"give a number of hours from 1 to {MAX_EXPECTED_HOURS}, "
                                                      "or none for a source that sends when it has something")


def expect_every(source: SourceSystem, hours: int | None, *, now: datetime, keyring: KeyRing,
                 actor: Actor) -> SourceSystem:
    """Set how often a source is expected to send (None: not watched). By the operator; audited."""
    _check_interval(hours)
    with transaction.atomic():
        SourceSystem.objects.filter(pk=source.pk).update(expected_every_hours=hours)
        source.expected_every_hours = hours
        record_event(AuditAction.SOURCE_INTERVAL_SET, actor=actor, keyring=keyring, at=now,
                     context={"source": source.code, "expected_every_hours": hours})
    return source


@dataclass(frozen=True)
class IssuedKey:
    key: SourceKey
    token: str  # shown once


def issue_key(admin: User | None, source: SourceSystem, *, now: datetime, keyring: KeyRing,
              scopes: frozenset[Permission] = SOURCE_SCOPES, valid_days: int = 365,
              actor: Actor | None = None) -> IssuedKey:
    """A new key. Earlier live keys keep working for ``ROTATION_GRACE`` so the source can switch over."""
    if admin is not None:
        _require_manager(admin, source.organisation)
    if not source.active or not source.organisation.is_accredited:
        raise ValidationError("source", "keys are issued only to an active source of an accredited organisation")
    if not scopes or not scopes <= SOURCE_SCOPES:
        raise ValidationError("scopes", "a source system key may only submit feeds and read discrepancies")
    prefix = secrets.token_hex(6)
    token = f"cpk_{prefix}_{secrets.token_urlsafe(32)}"
    with transaction.atomic():
        SourceKey.objects.filter(source=source, revoked_at__isnull=True).filter(
            expires_at__gt=now + ROTATION_GRACE).update(expires_at=now + ROTATION_GRACE)
        key = SourceKey.objects.create(source=source, prefix=prefix, secret_hash=_hash(token),
                                       scopes=sorted(str(s) for s in scopes), created_at=now,
                                       expires_at=now + timedelta(days=valid_days))
        record_event(AuditAction.SOURCE_KEY_ISSUED, actor=user_actor(admin) if admin else actor or
                     Actor.system("users"), keyring=keyring, at=now,
                     context={"source": source.code, "key": prefix, "scopes": key.scopes})
    return IssuedKey(key, token)


def revoke_key(admin: User, key: SourceKey, *, now: datetime, keyring: KeyRing) -> None:
    _require_manager(admin, key.source.organisation)
    if key.revoked_at is not None:
        raise ValidationError("key", "that key is already revoked")
    with transaction.atomic():
        SourceKey.objects.filter(pk=key.pk).update(revoked_at=now)
        record_event(AuditAction.SOURCE_KEY_REVOKED, actor=user_actor(admin), keyring=keyring, at=now,
                     context={"source": key.source.code, "key": key.prefix})


@dataclass(frozen=True)
class SourcePrincipal:
    source: SourceSystem
    scopes: frozenset[Permission]

    def has(self, permission: Permission) -> bool:
        return permission in self.scopes


_REFUSED = "The API key is not valid, has expired or has been revoked."


def authenticate_source(token: str, *, now: datetime) -> SourcePrincipal:
    parts = token.split("_")
    if len(parts) < 3 or parts[0] != "cpk":
        raise AuthenticationFailed(_REFUSED)
    key = SourceKey.objects.select_related("source__organisation").filter(prefix=parts[1]).first()
    if key is None or not hmac.compare_digest(key.secret_hash, _hash(token)):
        raise AuthenticationFailed(_REFUSED)
    if key.revoked_at or (key.expires_at and key.expires_at <= now) or not key.source.active:
        raise AuthenticationFailed(_REFUSED)
    org = key.source.organisation
    if not org.is_accredited or not org.granting_body.is_accredited:
        raise AuthenticationFailed("The source system's organisation is not accredited.")
    if key.last_used_at is None or now - key.last_used_at > timedelta(minutes=5):
        SourceKey.objects.filter(pk=key.pk).update(last_used_at=now)
    return SourcePrincipal(key.source, frozenset(Permission(s) for s in key.scopes))


def audit_refused_source(token: str, *, now: datetime, keyring: KeyRing, ip: str = "") -> None:
    prefix = token.split("_")[1] if token.count("_") >= 2 else ""
    record_event(AuditAction.SOURCE_AUTH_FAILED, actor=Actor("unknown-source"), keyring=keyring,
                 outcome=Outcome.REFUSED, at=now, context={"key": prefix[:16], "ip": ip})
