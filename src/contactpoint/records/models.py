from __future__ import annotations

from django.db import models


class PractitionerInvolvement(models.Model):
    """An involvement a practitioner recorded themselves (their service, contact details, lead professional,
    CAF). Sealed with the child's data key like every other value; the best view takes it in alongside feeds,
    with the practitioner's organisation as its source.

    The organisation is sealed in the payload too: which organisation works with a child says what kind of help
    the child gets (a sexual health clinic, a youth offending team). ``org_token`` is a keyed hash of its code,
    for the checks that need "an entry of this organisation" (an administrator managing their staff's entries,
    the misuse monitor) without opening every entry. ``organisation`` is the old clear column: empty on every
    entry recorded since, and emptied on older ones by ``contactpoint seal_involvement_organisations``
    (migration 0006); until that has run the code reads it as a fallback."""

    child = models.ForeignKey("children.Child", on_delete=models.CASCADE, related_name="practitioner_involvements")
    key = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey("access.User", on_delete=models.PROTECT, related_name="+")
    organisation = models.CharField(max_length=32, blank=True, default="")
    org_token = models.CharField(max_length=64, blank=True, default="", db_index=True)
    payload = models.BinaryField()
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        db_table = "records_practitioner_involvement"


class BrokeringRequest(models.Model):
    """A practitioner asks the responsible local authority's ContactPoint team to put them in touch with a
    service they cannot see: a sensitive service, or the practitioners of a shielded child.

    The team is found through the child (``child.responsible_la``), so a request follows a child who moves.
    What the practitioner wrote, and the team's note, are sealed with the child's data key: they may say
    something about the child."""

    class Kind(models.TextChoices):
        SENSITIVE = "sensitive", "A sensitive service"
        SHIELDED = "shielded", "A shielded record"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        BROKERED = "brokered", "Put in touch"
        CLOSED = "closed", "Closed without contact"

    child = models.ForeignKey("children.Child", on_delete=models.CASCADE, related_name="brokering_requests")
    key = models.CharField(max_length=64, unique=True)
    requested_by = models.ForeignKey("access.User", on_delete=models.PROTECT, related_name="+")
    organisation = models.CharField(max_length=32)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN, db_index=True)
    payload = models.BinaryField()
    created_at = models.DateTimeField()
    handled_by = models.ForeignKey("access.User", null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    handled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "records_brokering_request"
        ordering = ("created_at", "id")


class RecordLookup(models.Model):
    """When a user last opened a child's record (``records.lookups``): the limits on how many different children
    one user may look up in an hour and in a day. Only IDs and a time; rows older than a day are pruned."""

    user = models.ForeignKey("access.User", on_delete=models.CASCADE, related_name="+")
    child_id = models.BigIntegerField()
    last_viewed_at = models.DateTimeField()

    class Meta:
        db_table = "records_lookup"
        constraints = [models.UniqueConstraint(fields=["user", "child_id"], name="records_lookup_user_child")]
        indexes = [models.Index(fields=["user", "last_viewed_at"], name="records_lookup_recent")]


class Notification(models.Model):
    """Practitioners told (issue 18; the signal the Dutch Verwijsindex gives): someone else has started working
    with a child one works with. It names the child by its row only, and holds no child data and nothing sealed:
    who the other practitioner is, the recipient learns by opening the record, with a reason, through the
    ordinary audited view (records.notifications)."""

    class Kind(models.TextChoices):
        JOINED = "joined", "Another practitioner has started working with a child you work with"
        OTHERS = "others", "Other practitioners are already working with a child you have started working with"

    recipient = models.ForeignKey("access.User", on_delete=models.CASCADE, related_name="+")
    child = models.ForeignKey("children.Child", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    created_at = models.DateTimeField()
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "records_notification"
        indexes = [models.Index(fields=["recipient", "read_at"], name="records_notif_unread")]


class Amendment(models.Model):
    """A local authority's correction or completion of one value of a child's record (issue 19: "the authority
    must also take reasonable steps to correct the inaccuracy or to complete the record").

    A name, date of birth, gender, address, carers, setting or GP practice takes effect at once (``active``); an
    identifier (NHS number, UPN, ULN) is a proposal
    that takes effect only when a second data manager of the same authority approves it. An active amendment wins
    over every source until one sends a newer value that agrees (``retired``), a data manager withdraws it, or a
    later amendment of the same value replaces it. The new value and the reason are sealed with the child's data
    key (``payload``, bound to ``key``); only the field's name, states, who and when are in clear."""

    class Field(models.TextChoices):
        NAME = "name", "Name"
        DATE_OF_BIRTH = "date_of_birth", "Date of birth"
        GENDER = "gender", "Gender"
        ADDRESS = "address", "Address"
        NHS_NUMBER = "nhs_number", "NHS number"
        UPN = "upn", "Unique Pupil Number (UPN)"
        ULN = "uln", "Unique Learner Number (ULN)"
        CARERS = "carers", "Parents and carers"
        EDUCATION = "education", "Educational setting"
        GP = "gp", "GP practice"

    class Status(models.TextChoices):
        PROPOSED = "proposed", "Awaiting approval"
        ACTIVE = "active", "In effect"
        REJECTED = "rejected", "Rejected"
        RETIRED = "retired", "A source now agrees"
        WITHDRAWN = "withdrawn", "Withdrawn"
        REPLACED = "replaced", "Replaced by a later change"
        # Two merged records each had a change of this value in force: the newer applies, this one waits for a
        # data manager to see it (records.amendments.carry_over).
        SET_ASIDE = "set_aside", "Set aside by a merge: a newer change of this value applies"

    key = models.CharField(max_length=32, unique=True)
    child = models.ForeignKey("children.Child", on_delete=models.CASCADE, related_name="+")
    field = models.CharField(max_length=16, choices=Field.choices)
    status = models.CharField(max_length=10, choices=Status.choices)
    responsible_la = models.CharField(max_length=3, db_index=True)
    made_by = models.ForeignKey("access.User", on_delete=models.PROTECT, related_name="+")
    made_at = models.DateTimeField()
    decided_by = models.ForeignKey("access.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)  # approved or rejected (identifiers only)
    ended_at = models.DateTimeField(null=True, blank=True)  # retired, withdrawn or replaced
    payload = models.BinaryField()  # sealed: the value and the reason

    class Meta:
        db_table = "records_amendment"
        indexes = (models.Index(fields=["child", "status"], name="amendment_child_idx"),
                   models.Index(fields=["responsible_la", "status"], name="amendment_worklist_idx"))
