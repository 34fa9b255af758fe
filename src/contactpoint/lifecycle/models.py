"""What the life of a record needs to remember: shielding decisions, consent to stay to 25, notified deaths,
archives and requests to open a sealed record.

Everything a person said or wrote (reasons, views, how consent was given, dates about the child) is sealed with
the child's own data key (``payload`` columns, bound to the row's ``key``), so deleting the child shreds it too.
Only IDs, states, who acted, when, and coarse dates the work lists need are in clear (DESIGN.md section 4).
Every row goes with its child (CASCADE): deletion leaves only IDs in the audit trail.
"""

from __future__ import annotations

from django.db import models


class ShieldDecision(models.Model):
    """A proposal to shield (or to stop shielding) a child, and the second officer's decision on it. Only an
    approved decision changes ``Child.shielded``; a proposal on its own has no effect."""

    class Kind(models.TextChoices):
        SHIELD = "shield", "Shield"
        UNSHIELD = "unshield", "Stop shielding"

    class Status(models.TextChoices):
        PROPOSED = "proposed", "Awaiting approval"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"

    key = models.CharField(max_length=32, unique=True)
    child = models.ForeignKey("children.Child", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PROPOSED)
    responsible_la = models.CharField(max_length=3, db_index=True)
    proposed_by = models.ForeignKey("access.User", on_delete=models.PROTECT, related_name="+")
    proposed_at = models.DateTimeField()
    decided_by = models.ForeignKey("access.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    review_on = models.DateField(null=True, blank=True)  # when a shield must be looked at again
    payload = models.BinaryField()  # sealed: reason, threat level, the views recorded
    decision_note = models.BinaryField(default=b"", blank=True)  # sealed: what the approver wrote

    class Meta:
        db_table = "lifecycle_shield_decision"
        indexes = (models.Index(fields=["responsible_la", "status"], name="shield_worklist_idx"),)


class StayConsent(models.Model):
    """Informed, explicit consent to stay on ContactPoint until 25 (regulation 4(2)): care leavers and young
    people with learning disabilities. Withdrawing it archives the record on the next run."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Given"
        WITHDRAWN = "withdrawn", "Withdrawn"

    key = models.CharField(max_length=32, unique=True)
    child = models.ForeignKey("children.Child", on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    recorded_by = models.ForeignKey("access.User", on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField()
    withdrawn_by = models.ForeignKey("access.User", null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+")
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    payload = models.BinaryField()  # sealed: basis, who gave it, when, how, what they were told
    withdrawal = models.BinaryField(default=b"", blank=True)  # sealed: when and how it was withdrawn

    class Meta:
        db_table = "lifecycle_stay_consent"


class DeathNotice(models.Model):
    """A death notified to the local authority. ``live_until_month`` (the month of the first anniversary,
    coarsened like ``Child.review_month``) lets the daily run find the record even if a feed later rebuilds the
    record from sources that do not know of the death."""

    key = models.CharField(max_length=32, unique=True)
    child = models.ForeignKey("children.Child", on_delete=models.CASCADE, related_name="+")
    notified_by = models.ForeignKey("access.User", on_delete=models.PROTECT, related_name="+")
    notified_at = models.DateTimeField()
    live_until_month = models.DateField(db_index=True)
    payload = models.BinaryField()  # sealed: date of death, how it was notified

    class Meta:
        db_table = "lifecycle_death_notice"


class Archive(models.Model):
    """A record out of live use. The exact date and the reason (age, death, consent withdrawn, left England, new
    identity) are sealed; ``Child.archived_month`` is the coarse date in clear. ``retention_kek`` names the key
    that now wraps the child's data key: it is destroyed when the records it holds are deleted."""

    child = models.OneToOneField("children.Child", primary_key=True, on_delete=models.CASCADE, related_name="+")
    delete_month = models.DateField(db_index=True)  # the month in which the sixth anniversary falls
    payload = models.BinaryField()

    class Meta:
        db_table = "lifecycle_archive"


class SealedOpening(models.Model):
    """A request to open a sealed record, which a second authorised officer approves. Allowed only for a child
    protection enquiry, a serious case review or a child death review; the opening lasts a few days and every
    look at the record is audited."""

    class Purpose(models.TextChoices):
        CHILD_PROTECTION = "child_protection", "Child protection enquiry"
        SERIOUS_CASE_REVIEW = "serious_case_review", "Serious case review"
        CHILD_DEATH_REVIEW = "child_death_review", "Child death review"

    class Status(models.TextChoices):
        REQUESTED = "requested", "Awaiting approval"
        APPROVED = "approved", "Open"
        REFUSED = "refused", "Refused"

    key = models.CharField(max_length=32, unique=True)
    child = models.ForeignKey("children.Child", on_delete=models.CASCADE, related_name="+")
    responsible_la = models.CharField(max_length=3, db_index=True)
    purpose = models.CharField(max_length=24, choices=Purpose.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.REQUESTED)
    requested_by = models.ForeignKey("access.User", on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField()
    decided_by = models.ForeignKey("access.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    open_until = models.DateTimeField(null=True, blank=True)
    payload = models.BinaryField()  # sealed: the case reference and why

    class Meta:
        db_table = "lifecycle_sealed_opening"


class NewIdentityGuard(models.Model):
    """The identifier tokens of a record sealed when its child was given a new identity (``notices``). Archiving
    takes the record out of the index, so without these a source that sends the old details again (its NHS
    number, its UPN) would make a new, visible child of the old identity. A feed row with one of these tokens is
    held instead, for the old record's local authority to decide (``ingest``).

    Points only at the old, sealed record (which holds the one link to the new one, sealed): nothing here leads
    to the new identity. Goes with the old record when it is deleted."""

    child = models.ForeignKey("children.Child", on_delete=models.CASCADE, related_name="+")
    token = models.BigIntegerField(db_index=True)

    class Meta:
        db_table = "lifecycle_new_identity_guard"


class MoveReport(models.Model):
    """A feed reported an address in another local authority for a shielded child (issue 19). The responsible
    authority does not follow it (that would show the new area on the record and to the other authority): the
    keeping authority's data managers decide to hand the child over, or to keep them. Which authority was
    reported is whereabouts, so it is sealed with the child's data key (``payload``); in clear are only the
    keeping authority, the state, and who decided when."""

    class Status(models.TextChoices):
        OPEN = "open", "Awaiting a decision"
        HANDED_OVER = "handed_over", "Handed over"
        KEPT = "kept", "Kept"

    key = models.CharField(max_length=32, unique=True)
    child = models.ForeignKey("children.Child", on_delete=models.CASCADE, related_name="+")
    responsible_la = models.CharField(max_length=3)  # the keeping authority
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN)
    reported_at = models.DateTimeField()
    decided_by = models.ForeignKey("access.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    payload = models.BinaryField()  # sealed: {"la": the reported authority's code, "source": the feed's source}

    class Meta:
        db_table = "lifecycle_move_report"
        indexes = (models.Index(fields=["responsible_la", "status"], name="move_report_worklist_idx"),)


class HandOver(models.Model):
    """A child's responsible authority changed (issue 19): a hand-over notice for the ContactPoint teams of both
    authorities. Names the child by its row only; from, to and when are in clear, as ``Child.responsible_la``
    is. A shielded child's move makes one only when its authority decides to hand the child over."""

    class How(models.TextChoices):
        FEED = "feed", "A source reported an address in the new authority"
        DECISION = "decision", "Handed over by the authority's decision"

    child = models.ForeignKey("children.Child", on_delete=models.CASCADE, related_name="+")
    from_la = models.CharField(max_length=3)
    to_la = models.CharField(max_length=3)
    at = models.DateTimeField()
    how = models.CharField(max_length=10, choices=How.choices)
    decided_by = models.ForeignKey("access.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        db_table = "lifecycle_hand_over"
        indexes = (models.Index(fields=["from_la", "at"], name="hand_over_from_idx"),
                   models.Index(fields=["to_la", "at"], name="hand_over_to_idx"))


class HandOverSeen(models.Model):
    """How far a data manager has read their authority's hand-over notices (issue 19): the newest notice they
    had been shown when they last opened "Moves and hand-overs". Notices after it are unread (the count on their
    home page). One row per user; no child data."""

    user = models.OneToOneField("access.User", on_delete=models.CASCADE, related_name="+")
    last_seen = models.BigIntegerField(default=0)  # the highest HandOver id shown to them
    seen_at = models.DateTimeField()

    class Meta:
        db_table = "lifecycle_hand_over_seen"
