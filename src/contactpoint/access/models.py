from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager
from django.db import models

from contactpoint.access.roles import OrgKind, Permission, Role, role


class Organisation(models.Model):
    """A body whose staff may use ContactPoint. Local authorities and national partners are loaded at install;
    other bodies (schools, GP practices, police forces, YOTs...) are accredited when a local authority vouches
    for them. Suspending accreditation takes effect on every user's next request."""

    code = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=32, choices=[(k.value, k.value) for k in OrgKind])
    la_code = models.CharField(max_length=3, blank=True, db_index=True,
                               help_text="the local authority area the body works in (its own code for an LA)")
    vouched_by = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="vouched")
    accredited = models.BooleanField(default=True)
    suspended_at = models.DateTimeField(null=True, blank=True)
    suspended_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        db_table = "access_organisation"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_accredited(self) -> bool:
        return self.accredited and self.suspended_at is None

    @property
    def granting_body(self) -> Organisation:
        """Who grants this body's staff access: itself for an LA, a partner or the operator; else the LA that
        vouched for it (regulation 9)."""
        if self.kind in (OrgKind.LOCAL_AUTHORITY, OrgKind.NATIONAL_PARTNER, OrgKind.OPERATOR):
            return self
        return self.vouched_by or self


class UserManager(BaseUserManager["User"]):
    def create_user(self, username: str, password: str | None = None, **fields):
        user = self.model(username=username, **fields)
        user.set_password(password)
        user.save()
        return user


class User(AbstractBaseUser):
    """A person who may use ContactPoint. Whether they may use it *now* is decided on every request by
    ``contactpoint.access.preconditions``; the fields below are what those checks read."""

    username = models.CharField(max_length=150, unique=True)
    full_name = models.CharField(max_length=200)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    job_title = models.CharField(max_length=200, blank=True)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="users")
    role_code = models.CharField(max_length=32)
    pin_hash = models.CharField(max_length=256, blank=True)
    is_active = models.BooleanField(default=True)  # Django's flag; false only for suspended accounts

    granted_at = models.DateTimeField(null=True, blank=True)
    granted_by = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_reason = models.CharField(max_length=300, blank=True)
    suspended_at = models.DateTimeField(null=True, blank=True)
    suspended_reason = models.CharField(max_length=300, blank=True)
    clearance_date = models.DateField(null=True, blank=True)
    clearance_reference = models.CharField(max_length=64, blank=True)
    training_completed_on = models.DateField(null=True, blank=True)
    policy_version_signed = models.PositiveIntegerField(null=True, blank=True)
    policy_signed_at = models.DateTimeField(null=True, blank=True)
    must_change_credentials = models.BooleanField(default=True)
    credentials_changed_at = models.DateTimeField(null=True, blank=True)
    # Bumped whenever every session must end (revocation, suspension, password, PIN or token change).
    session_epoch = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    USERNAME_FIELD = "username"
    REQUIRED_FIELDS = ["full_name"]
    objects = UserManager()

    class Meta:
        db_table = "access_user"
        ordering = ["full_name"]

    def __str__(self) -> str:
        return f"{self.full_name} ({self.username})"

    @property
    def role(self) -> Role:
        return role(self.role_code)

    def has(self, permission: Permission) -> bool:
        return permission in self.role.permissions


class PolicyVersion(models.Model):
    """A version of the acceptable use policy. Publishing a new one means every user signs again."""

    version = models.PositiveIntegerField(unique=True)
    published_at = models.DateTimeField()
    summary = models.TextField()

    class Meta:
        db_table = "access_policy_version"
        ordering = ["-version"]


class LoginThrottle(models.Model):
    """Failed logins per username as typed, whether or not such an account exists, so that lockout looks the
    same for an unknown username (the key is an HMAC of the lower-cased username)."""

    key = models.CharField(max_length=64, primary_key=True)
    failures = models.PositiveIntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True)
    last_failure_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "access_login_throttle"


class SourceSystem(models.Model):
    """A system that sends feeds (a school census, GP registrations, child benefit, an LA's social care
    system). It authenticates with API keys, may only submit feeds and read its own discrepancy reports."""

    code = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=32)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="source_systems")
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # How often the source is expected to send (hours; None: whenever it has something): the worker's hourly
    # check raises an alert for the operator when it has sent nothing for that long (``ingest.jobs``).
    expected_every_hours = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        db_table = "access_source_system"
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code


class SourceKey(models.Model):
    """An API key of a source system. Only a SHA-256 of the secret is kept (it is 256 random bits, so a slow
    password hash adds nothing); ``prefix`` identifies the key in logs and on screen."""

    source = models.ForeignKey(SourceSystem, on_delete=models.CASCADE, related_name="keys")
    prefix = models.CharField(max_length=16, unique=True)
    secret_hash = models.CharField(max_length=64)
    scopes = models.JSONField(default=list)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "access_source_key"


class ApiSession(models.Model):
    """A bearer token for a practitioner's case-management system (``POST /api/v1/session``): the same
    person, the same preconditions and the same idle and absolute limits as a web session."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_sessions")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()
    last_used_at = models.DateTimeField()
    session_epoch = models.PositiveIntegerField()
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "access_api_session"
