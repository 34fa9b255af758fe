from __future__ import annotations

from django.db import models


class MonitorCursor(models.Model):
    """How far the monitor has read the audit trail: the last entry ``seq`` whose rules have run. Advanced in
    the same transaction as the alerts and counters that entry produced, so a crash neither loses nor repeats
    one."""

    name = models.CharField(max_length=32, primary_key=True)
    seq = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(null=True)

    class Meta:
        db_table = "monitoring_cursor"


class MonitorState(models.Model):
    """Small facts the monitor's health steps keep (when it last walked the chain, last witness check)."""

    key = models.CharField(max_length=40, primary_key=True)
    at = models.DateTimeField(null=True)
    ok = models.BooleanField(default=True)
    message = models.TextField(blank=True)

    class Meta:
        db_table = "monitoring_state"


class UserDay(models.Model):
    """What one user did on one local day: the counters the rules and the volume baselines read."""

    username = models.CharField(max_length=150)
    day = models.DateField()
    role = models.CharField(max_length=64, blank=True)
    searches = models.PositiveIntegerField(default=0)  # every search attempt, refused or not
    views = models.PositiveIntegerField(default=0)
    too_many = models.PositiveIntegerField(default=0)
    out_of_hours = models.PositiveIntegerField(default=0)
    # "children": ContactPoint IDs viewed outside the user's area with no involvement; "seq:<rule>": evidence
    notes = models.JSONField(default=dict)

    class Meta:
        db_table = "monitoring_user_day"
        constraints = (models.UniqueConstraint(fields=("username", "day"), name="monitoring_user_day_unique"),)
        indexes = (models.Index(fields=("role", "day"), name="monitoring_user_day_role"),)

    @property
    def activity(self) -> int:
        return self.searches + self.views


class WatchedIdentity(models.Model):
    """A user's own family name(s) and home postcode, as keyed HMAC tokens only (never in clear), so that a
    search for them can be recognised (the most common misuse found in 2009)."""

    user = models.OneToOneField("access.User", on_delete=models.CASCADE, related_name="watched_identity")
    family_tokens = models.JSONField(default=list)
    postcode_token = models.CharField(max_length=32, blank=True)
    recorded_at = models.DateTimeField()

    class Meta:
        db_table = "monitoring_watched_identity"


class SurnameCount(models.Model):
    """How often each family name (as a keyed token) is searched for, across all users: tells a common name,
    which practitioners search for every day, from a rare one. Holds tokens and counts, nothing else."""

    token = models.CharField(max_length=32, primary_key=True)
    count = models.PositiveIntegerField(default=0)

    class Meta:
        db_table = "monitoring_surname_count"


class AlertStatus(models.TextChoices):
    OPEN = "open", "New"
    ACKNOWLEDGED = "acknowledged", "Being investigated"
    RESOLVED = "resolved", "Resolved"


class AlertOutcome(models.TextChoices):
    MISUSE = "misuse", "Misuse confirmed: referred for action"
    LEGITIMATE = "legitimate", "Legitimate use: the reason was confirmed"
    FALSE_POSITIVE = "false_positive", "Not misuse: the rule was wrong here"
    REFERRED = "referred", "Referred to the user's organisation to investigate"


class Alert(models.Model):
    """Something an auditor must look at. ``key`` makes raising idempotent (one alert per rule, user and
    period); ``evidence`` holds entry numbers, counts and the rule's explanation, never personal data."""

    key = models.CharField(max_length=200, unique=True)
    rule = models.CharField(max_length=32, db_index=True)
    title = models.CharField(max_length=200)
    severity = models.CharField(max_length=8, default="alert")
    subject_user = models.CharField(max_length=150, blank=True, db_index=True)
    subject_org = models.CharField(max_length=32, blank=True, db_index=True)
    evidence = models.JSONField(default=dict)
    entries = models.JSONField(default=list)  # audit entry seq numbers, oldest first
    subjects = models.JSONField(default=list)  # ContactPoint IDs concerned
    occurred_at = models.DateTimeField()  # of the last entry in the evidence
    raised_at = models.DateTimeField(db_index=True)
    raised_seq = models.BigIntegerField(null=True)  # its ALERT_RAISED entry
    status = models.CharField(max_length=16, choices=AlertStatus.choices, default=AlertStatus.OPEN,
                              db_index=True)
    acknowledged_by = models.CharField(max_length=150, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.CharField(max_length=150, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=16, choices=AlertOutcome.choices, blank=True)
    resolved_seq = models.BigIntegerField(null=True, blank=True)  # its ALERT_RESOLVED entry (note encrypted)

    class Meta:
        db_table = "monitoring_alert"
        ordering = ("-raised_at", "-id")
