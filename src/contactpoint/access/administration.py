"""What organisation administrators do, as plain functions: each checks the administrator's scope, does one
thing, and writes it to the audit trail.

Scope: an administrator manages the users of their own organisation and, at a local authority, of the bodies it
has vouched for (regulation 9(2): a local authority grants access; 9(3): a national partner grants its own
employees).
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from datetime import date, datetime

from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp_webauthn.models import WebAuthnCredential

from contactpoint.access import preconditions
from contactpoint.access.authentication import throttle_key, user_actor, validate_pin
from contactpoint.access.models import LoginThrottle, Organisation, PolicyVersion, User
from contactpoint.access.roles import ROLES_BY_CODE, OrgKind, Permission
from contactpoint.audit.actions import AuditAction
from contactpoint.audit.trail import Actor, record_event
from contactpoint.errors import PermissionDenied, ValidationError
from contactpoint.vault.keyring import KeyRing

_WORDS = ("amber", "basil", "cedar", "delta", "ember", "fjord", "grove", "harbour", "indigo", "juniper", "kestrel",
          "lantern", "meadow", "nectar", "orchid", "pebble", "quartz", "russet", "saffron", "thistle", "umber",
          "violet", "willow", "yarrow", "zephyr", "copper", "linen", "marble", "silver", "tundra")


def temporary_password() -> str:
    """Four random words and a number: typed once by the user, then changed."""
    return "-".join(secrets.choice(_WORDS) for _ in range(4)) + f"-{secrets.randbelow(90) + 10}"


def temporary_pin() -> str:
    while True:
        pin = f"{secrets.randbelow(10 ** 6):06d}"
        try:
            return validate_pin(pin)
        except ValidationError:
            continue


def organisations_in_scope(admin: User) -> QuerySet[Organisation]:
    own = admin.organisation
    if own.kind == OrgKind.LOCAL_AUTHORITY:
        return Organisation.objects.filter(Q(pk=own.pk) | Q(vouched_by=own))
    return Organisation.objects.filter(pk=own.pk)


def users_in_scope(admin: User) -> QuerySet[User]:
    return User.objects.filter(organisation__in=organisations_in_scope(admin)).select_related("organisation")


@dataclass(frozen=True)
class AccountsToSee:
    """The accounts in an administrator's scope that need them (their home page), each list by name."""

    to_grant: list[User]  # added, but access neither granted nor revoked
    clearance_lapsed: list[User]  # with access, but no current enhanced clearance: they cannot sign in
    clearance_expiring: list[tuple[User, date]]  # with access; the clearance lapses within the warning period
    locked: list[tuple[User, datetime]]  # sign-in locked after failed attempts, until then


def accounts_to_see(admin: User, *, today: date, now: datetime) -> AccountsToSee:
    """Reads only account fields (no child data). Suspended and revoked accounts are not counted as lapsing:
    no one can use them anyway."""
    _require_admin(admin, permission=Permission.ORG_USERS_VIEW)
    people = users_in_scope(admin).order_by("full_name", "username")
    to_grant = list(people.filter(granted_at__isnull=True, revoked_at__isnull=True))
    lapsed, expiring = [], []
    for user in people.filter(granted_at__isnull=False, revoked_at__isnull=True, suspended_at__isnull=True):
        expires = preconditions.clearance_expires(user)
        if expires is None or expires <= today:
            lapsed.append(user)
        elif (expires - today).days <= preconditions.CLEARANCE_WARNING_DAYS:
            expiring.append((user, expires))
    # The throttle is keyed by an HMAC of the username as typed: the few locked keys, matched against the
    # accounts in scope (an attempt on a name that is no one's account is locked too, and is no one's business).
    locked_keys = dict(LoginThrottle.objects.filter(locked_until__gt=now).values_list("key", "locked_until"))
    locked = []
    if locked_keys:
        for user in people:
            until = locked_keys.get(throttle_key(user.username))
            if until is not None:
                locked.append((user, until))
    return AccountsToSee(to_grant, lapsed, sorted(expiring, key=lambda pair: pair[1]), locked)


def _require_admin(admin: User, target: User | None = None, permission: Permission = Permission.ORG_USERS_MANAGE):
    if not admin.has(permission):
        raise PermissionDenied("Only an organisation administrator can do this.")
    if target is not None:
        if not users_in_scope(admin).filter(pk=target.pk).exists():
            raise PermissionDenied("That user is not in an organisation you administer.")
        if target.pk == admin.pk:
            raise PermissionDenied("Another administrator must do this for your own account.")


def _audit(action: AuditAction, admin: User, target: User, keyring: KeyRing, now: datetime, **context) -> None:
    record_event(action, actor=user_actor(admin), keyring=keyring, at=now, target_user=target.username,
                 context={"organisation": target.organisation.code, **context})


def _end_sessions(user: User) -> None:
    User.objects.filter(pk=user.pk).update(session_epoch=F("session_epoch") + 1)
    user.refresh_from_db(fields=["session_epoch"])


@dataclass(frozen=True)
class NewAccount:
    user: User
    password: str
    pin: str


def create_user(admin: User, *, username: str, full_name: str, organisation: Organisation, role_code: str,
                email: str = "", job_title: str = "", now: datetime, keyring: KeyRing) -> NewAccount:
    """A new account with a temporary password and PIN (shown once, changed at first sign-in). It cannot be
    used until access is granted and every precondition is recorded."""
    _require_admin(admin)
    if not organisations_in_scope(admin).filter(pk=organisation.pk).exists():
        raise PermissionDenied("You can only add users to an organisation you administer.")
    username = username.strip().lower()
    if not username or not username.replace(".", "").replace("-", "").replace("_", "").isalnum():
        raise ValidationError("username", "use letters, numbers, dots, hyphens and underscores only")
    if User.objects.filter(username=username).exists():
        raise ValidationError("username", "that username is already taken")
    if not full_name.strip():
        raise ValidationError("full_name", "enter the person's full name")
    if len(username) > 150 or len(full_name) > 200 or len(email) > 254 or len(job_title) > 200:
        raise ValidationError("full_name", "names are at most 200 characters, usernames 150, email addresses 254")
    role = ROLES_BY_CODE.get(role_code)
    if role is None or OrgKind(organisation.kind) not in role.org_kinds:
        raise ValidationError("role", "choose a role that people in this organisation can hold")
    if role_code == "org-admin" and organisation.pk != admin.organisation_id:
        raise ValidationError("role", "administrators of another organisation are added by that organisation")

    password, pin = temporary_password(), temporary_pin()
    with transaction.atomic():
        user = User.objects.create_user(username, password, full_name=full_name.strip(), email=email,
                                        job_title=job_title, organisation=organisation, role_code=role_code,
                                        pin_hash=make_password(pin), must_change_credentials=True)
        _audit(AuditAction.USER_CREATED, admin, user, keyring, now, role=role_code)
    return NewAccount(user, password, pin)


def grant_access(admin: User, user: User, *, now: datetime, keyring: KeyRing) -> None:
    """Access is granted only once the conditions an administrator records hold (issue 18): a current enhanced
    clearance and the training. Granting before them would list as "granted" someone who cannot use the service,
    and would let them in the moment a stale date is corrected."""
    _require_admin(admin, user)
    expires = preconditions.clearance_expires(user)
    if expires is None or expires <= timezone.localdate(now):
        raise PermissionDenied(f"Record {user.full_name}'s current enhanced criminal records clearance before "
                               "granting access.")
    if user.training_completed_on is None:
        raise PermissionDenied(f"Record that {user.full_name} has completed the ContactPoint training before "
                               "granting access.")
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(granted_at=now, granted_by=admin, revoked_at=None, revoked_reason="")
        _audit(AuditAction.ACCESS_GRANTED, admin, user, keyring, now, role=user.role_code)
    user.refresh_from_db()


def revoke_access(admin: User, user: User, *, reason: str, now: datetime, keyring: KeyRing) -> None:
    _require_admin(admin, user)
    if not reason.strip():
        raise ValidationError("reason", "say why access is being revoked")
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(revoked_at=now, revoked_reason=reason.strip()[:300])
        _end_sessions(user)
        _audit(AuditAction.ACCESS_REVOKED, admin, user, keyring, now)
    user.refresh_from_db()


def suspend_user(admin: User, user: User, *, reason: str, now: datetime, keyring: KeyRing) -> None:
    _require_admin(admin, user)
    if not reason.strip():
        raise ValidationError("reason", "say why the account is suspended")
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(suspended_at=now, is_active=False,
                                               suspended_reason=reason.strip()[:300])
        _end_sessions(user)
        _audit(AuditAction.USER_SUSPENDED, admin, user, keyring, now)
    user.refresh_from_db()


def reinstate_user(admin: User, user: User, *, now: datetime, keyring: KeyRing) -> None:
    _require_admin(admin, user)
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(suspended_at=None, is_active=True, suspended_reason="")
        _audit(AuditAction.USER_REINSTATED, admin, user, keyring, now)
    user.refresh_from_db()


def record_clearance(admin: User, user: User, *, cleared_on: date, reference: str, today: date, now: datetime,
                     keyring: KeyRing) -> None:
    _require_admin(admin, user)
    if cleared_on > today:
        raise ValidationError("cleared_on", "the clearance date must be today or in the past")
    reference = reference.strip()
    if not reference:
        raise ValidationError("reference", "enter the DBS certificate number or police vetting reference")
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(clearance_date=cleared_on, clearance_reference=reference[:64])
        _audit(AuditAction.CLEARANCE_RECORDED, admin, user, keyring, now, cleared_on=cleared_on.isoformat())
    user.refresh_from_db()


def record_training(admin: User, user: User, *, completed_on: date, today: date, now: datetime,
                    keyring: KeyRing) -> None:
    _require_admin(admin, user)
    if completed_on > today:
        raise ValidationError("completed_on", "the training date must be today or in the past")
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(training_completed_on=completed_on)
        _audit(AuditAction.TRAINING_RECORDED, admin, user, keyring, now, completed_on=completed_on.isoformat())
    user.refresh_from_db()


def record_policy_signature(signer: User, user: User, *, version: int, now: datetime, keyring: KeyRing) -> None:
    """The user signs (online) or an administrator records a signed paper form."""
    if signer.pk != user.pk:
        _require_admin(signer, user)
    if not PolicyVersion.objects.filter(version=version).exists():
        raise ValidationError("version", "there is no such version of the acceptable use policy")
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(policy_version_signed=version, policy_signed_at=now)
        record_event(AuditAction.POLICY_SIGNED, actor=user_actor(signer), keyring=keyring, at=now,
                     target_user=user.username,
                     context={"organisation": user.organisation.code, "version": version,
                              "recorded_by_admin": signer.pk != user.pk})
    user.refresh_from_db()


def publish_policy(version: int, summary: str, *, now: datetime, keyring: KeyRing, actor_name: str) -> PolicyVersion:
    current = PolicyVersion.objects.order_by("-version").first()
    if current and version <= current.version:
        raise ValidationError("version", f"the new version must be higher than {current.version}")
    with transaction.atomic():
        policy = PolicyVersion.objects.create(version=version, published_at=now, summary=summary)
        record_event(AuditAction.POLICY_PUBLISHED, actor=Actor.operator(actor_name), keyring=keyring,
                     at=now, context={"version": version})
    return policy


@dataclass(frozen=True)
class Enrolment:
    device: TOTPDevice
    secret_base32: str
    uri: str


def begin_totp_enrolment(admin: User, user: User, *, now: datetime, keyring: KeyRing) -> Enrolment:
    """A new, unconfirmed TOTP device; its QR code is shown once, to be scanned in the user's presence."""
    _require_admin(admin, user)
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user, confirmed=False).delete()
        device = TOTPDevice.objects.create(user=user, name="Security token", confirmed=False)
        _audit(AuditAction.TOKEN_ENROLMENT_STARTED, admin, user, keyring, now)
    return Enrolment(device, base64.b32encode(device.bin_key).decode().rstrip("="), device.config_url)


def confirm_totp_enrolment(admin: User, user: User, *, code: str, now: datetime, keyring: KeyRing) -> TOTPDevice:
    _require_admin(admin, user)
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-id").first()
    if device is None:
        raise ValidationError("code", "start the enrolment again: there is no token waiting to be confirmed")
    if not device.verify_token(code.strip().replace(" ", "")):
        raise ValidationError("code", "the code is not right; check the token shows the same account and try again")
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user, confirmed=True).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        _end_sessions(user)
        _audit(AuditAction.TOKEN_ENROLLED, admin, user, keyring, now, kind="totp")
    return device


def reset_tokens(admin: User, user: User, *, now: datetime, keyring: KeyRing) -> None:
    """Remove every token (lost or stolen); the user cannot sign in until a new one is enrolled."""

    _require_admin(admin, user)
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        WebAuthnCredential.objects.filter(user=user).delete()
        _end_sessions(user)
        _audit(AuditAction.TOKEN_RESET, admin, user, keyring, now)


def unlock(admin: User, user: User, *, now: datetime, keyring: KeyRing) -> None:
    _require_admin(admin, user)
    if LoginThrottle.objects.filter(key=throttle_key(user.username)).delete()[0]:
        _audit(AuditAction.ACCOUNT_UNLOCKED, admin, user, keyring, now)


def reset_credentials(admin: User, user: User, *, now: datetime, keyring: KeyRing) -> NewAccount:
    """A new temporary password and PIN for a user who has forgotten theirs."""

    _require_admin(admin, user)
    password, pin = temporary_password(), temporary_pin()
    with transaction.atomic():
        user.set_password(password)
        user.pin_hash = make_password(pin)
        user.must_change_credentials = True
        user.save(update_fields=["password", "pin_hash", "must_change_credentials"])
        _end_sessions(user)
        _audit(AuditAction.PASSWORD_CHANGED, admin, user, keyring, now, by_admin=True, pin=True)
    return NewAccount(user, password, pin)


def change_credentials(user: User, *, current_password: str, new_password: str, new_pin: str, now: datetime,
                       keyring: KeyRing) -> None:
    """The user sets their own password and PIN (at first sign-in, and whenever they choose)."""
    if not user.check_password(current_password):
        raise ValidationError("current_password", "your current password is not right")
    try:
        validate_password(new_password, user)
    except DjangoValidationError as exc:
        raise ValidationError("new_password", " ".join(exc.messages).lower().rstrip(".")) from None
    if new_password == current_password:
        raise ValidationError("new_password", "choose a password different from your current one")
    validate_pin(new_pin)

    with transaction.atomic():
        user.set_password(new_password)
        user.pin_hash = make_password(new_pin)
        user.must_change_credentials = False
        user.credentials_changed_at = now
        user.save(update_fields=["password", "pin_hash", "must_change_credentials", "credentials_changed_at"])
        _end_sessions(user)
        record_event(AuditAction.PASSWORD_CHANGED, actor=user_actor(user), keyring=keyring, at=now,
                     target_user=user.username)


# --- organisations -----------------------------------------------------------------------------------------

def vouch_for(admin: User, *, code: str, name: str, kind: OrgKind, now: datetime, keyring: KeyRing) -> Organisation:
    """A local authority accredits a body in its area (a school, GP practice, police force, YOT...)."""
    _require_admin(admin, permission=Permission.ORG_ORGANISATIONS_VOUCH)
    la = admin.organisation
    if la.kind != OrgKind.LOCAL_AUTHORITY:
        raise PermissionDenied("Only a local authority can vouch for another organisation.")
    if kind in (OrgKind.LOCAL_AUTHORITY, OrgKind.NATIONAL_PARTNER, OrgKind.OPERATOR):
        raise ValidationError("kind", "local authorities and national partners are accredited nationally")
    code = code.strip().upper()
    if len(code) > 32 or len(name) > 200:
        raise ValidationError("code", "codes are at most 32 characters and names 200")
    if not code or Organisation.objects.filter(code=code).exists():
        raise ValidationError("code", "enter a code not already used by another organisation")
    if not name.strip():
        raise ValidationError("name", "enter the organisation's name")
    with transaction.atomic():
        org = Organisation.objects.create(code=code, name=name.strip(), kind=kind, la_code=la.la_code,
                                          vouched_by=la, accredited=True)
        record_event(AuditAction.ORGANISATION_CREATED, actor=user_actor(admin), keyring=keyring, at=now,
                     context={"organisation": org.code, "kind": str(kind), "vouched_by": la.code})
    return org


def suspend_organisation(admin: User, org: Organisation, *, reason: str, now: datetime,
                         keyring: KeyRing) -> None:
    """Takes effect at once: every user of the organisation is refused on their next request."""
    _require_admin(admin, permission=Permission.ORG_ORGANISATIONS_VOUCH)
    if org.vouched_by_id != admin.organisation_id:
        raise PermissionDenied("You can only suspend an organisation your local authority vouched for.")
    if not reason.strip():
        raise ValidationError("reason", "say why the accreditation is suspended")
    with transaction.atomic():
        Organisation.objects.filter(pk=org.pk).update(suspended_at=now, suspended_reason=reason.strip()[:300])
        record_event(AuditAction.ORGANISATION_SUSPENDED, actor=user_actor(admin), keyring=keyring, at=now,
                     context={"organisation": org.code})
    org.refresh_from_db()


def reinstate_organisation(admin: User, org: Organisation, *, now: datetime, keyring: KeyRing) -> None:
    _require_admin(admin, permission=Permission.ORG_ORGANISATIONS_VOUCH)
    if org.vouched_by_id != admin.organisation_id:
        raise PermissionDenied("You can only reinstate an organisation your local authority vouched for.")
    with transaction.atomic():
        Organisation.objects.filter(pk=org.pk).update(suspended_at=None, suspended_reason="")
        record_event(AuditAction.ORGANISATION_REINSTATED, actor=user_actor(admin), keyring=keyring, at=now,
                     context={"organisation": org.code})
    org.refresh_from_db()


# --- the operator's bootstrap -------------------------------------------------------------------------------

@dataclass(frozen=True)
class ProvisionedAccount:
    user: User
    password: str
    pin: str
    totp_secret: str  # base32, as an authenticator app takes it
    totp_uri: str


def provision_user(*, organisation: Organisation, username: str, full_name: str, role_code: str,
                   cleared_on: date, clearance_reference: str, trained_on: date, now: datetime, keyring: KeyRing,
                   actor_name: str, password: str | None = None, pin: str | None = None,
                   totp_key_hex: str | None = None, must_change_credentials: bool = True,
                   email: str = "") -> ProvisionedAccount:
    """The operator creates a ready-to-use account: the first administrator of an organisation (who then
    manages everyone else) or a demo user. Everything it records is audited as done by the operator."""

    role = ROLES_BY_CODE.get(role_code)
    if role is None or OrgKind(organisation.kind) not in role.org_kinds:
        raise ValidationError("role", f"a {role_code} cannot belong to a {organisation.kind} organisation")
    username = username.strip().lower()
    if User.objects.filter(username=username).exists():
        raise ValidationError("username", "that username is already taken")
    password = password or temporary_password()
    pin = validate_pin(pin) if pin else temporary_pin()
    actor = Actor.operator(actor_name)
    policy = PolicyVersion.objects.order_by("-version").values_list("version", flat=True).first()
    with transaction.atomic():
        user = User.objects.create_user(
            username, password, full_name=full_name, email=email, organisation=organisation, role_code=role_code,
            pin_hash=make_password(pin), must_change_credentials=must_change_credentials, granted_at=now,
            clearance_date=cleared_on, clearance_reference=clearance_reference, training_completed_on=trained_on,
            policy_version_signed=policy if not must_change_credentials else None,
            policy_signed_at=now if not must_change_credentials else None)
        device = TOTPDevice(user=user, name="Security token", confirmed=True)
        if totp_key_hex:
            device.key = totp_key_hex
        device.save()
        for action in (AuditAction.USER_CREATED, AuditAction.ACCESS_GRANTED, AuditAction.CLEARANCE_RECORDED,
                       AuditAction.TRAINING_RECORDED, AuditAction.TOKEN_ENROLLED):
            record_event(action, actor=actor, keyring=keyring, at=now, target_user=username,
                         context={"organisation": organisation.code, "role": role_code, "bootstrap": True})
    secret = base64.b32encode(device.bin_key).decode().rstrip("=")
    return ProvisionedAccount(user, password, pin, secret, device.config_url)
