from __future__ import annotations

from django.db import models

from contactpoint.children.record import FIELD_GROUPS


class ChildStatus(models.TextChoices):
    LIVE = "live", "Live"
    ARCHIVED = "archived", "Archived"
    SEALED = "sealed", "Sealed"
    MERGED = "merged", "Merged into another record"  # kept so that a merge can be reversed (split)
    # Made by a data manager by hand, and matching an existing child: in no search and no feed's matching (no
    # index tokens) until a data manager decides the review item it is in (``ingest.manual``).
    PENDING = "pending", "Created by hand, awaiting a decision"


class Child(models.Model):
    """A child in the index. Only IDs, lifecycle state and coarse lifecycle dates are in clear; every
    Schedule 1 value is in the encrypted field-group columns (``contactpoint.children.record``).

    ``review_month`` is the first day of the month in which the lifecycle must next look at the record (the
    month of the 18th birthday, for instance): coarsened to the month so that it does not disclose a date of
    birth. ``archived_month`` likewise."""

    # The ID is the ContactPoint ID's 11 digits (without its check character): known before the row is written,
    # so a batch of children, their keys and their tokens go to the database in three plain bulk inserts.
    id = models.BigIntegerField(primary_key=True)
    cpid = models.CharField("ContactPoint ID", max_length=12)
    status = models.CharField(max_length=10, choices=ChildStatus.choices, default=ChildStatus.LIVE)
    shielded = models.BooleanField(default=False)
    responsible_la = models.CharField(max_length=3)
    review_month = models.DateField()
    archived_month = models.DateField(null=True, blank=True)
    # Children missing education (issue 19): the compulsory school age of a child whose record holds no
    # educational setting (sealing.education_gap), written with every record, so that the list pages in SQL and
    # opens only the children it shows. Null for a child with a setting (or a date of death).
    education_missing_from = models.DateField(null=True, blank=True)
    education_missing_until = models.DateField(null=True, blank=True)
    merged_into = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    names = models.BinaryField()
    birth = models.BinaryField()
    identifiers = models.BinaryField()
    whereabouts = models.BinaryField()
    carers = models.BinaryField()
    education = models.BinaryField()
    gp = models.BinaryField()
    involvements = models.BinaryField()
    source_ids = models.BinaryField()

    class Meta:
        db_table = "children_child"
        # Every feed that links a record rewrites its child's row, so each index here costs every such write.
        # Only what is looked up has one: by ID, by ContactPoint ID (exactly: a constraint, not a field
        # option, so PostgreSQL gets no second, pattern-matching index), by responsible LA, and the lifecycle's
        # (status, review month), which also serves every query by review month.
        constraints = [models.UniqueConstraint(fields=["cpid"], name="child_cpid_unique")]
        # The missing-education list's index is partial: only children with no setting are in it.
        indexes = [models.Index(fields=["status", "review_month"], name="child_lifecycle_idx"),
                   models.Index(fields=["responsible_la"], name="child_la_idx"),
                   models.Index(fields=["responsible_la", "education_missing_from"], name="child_missing_edu_idx",
                                condition=models.Q(education_missing_from__isnull=False))]

    def __str__(self) -> str:
        return f"Child {self.cpid}"


assert all(hasattr(Child, g) for g in FIELD_GROUPS)


class SourceRecord(models.Model):
    """The latest version of one record of one source system (a row of its feed), linked to the child it was
    matched to. ``record_key`` is an HMAC of (source, the source's own ID): the ID itself is inside ``payload``,
    which is sealed with the child's data key, so shredding the child shreds its source records too.
    ``content_hash`` (also keyed) makes re-sending an unchanged row a no-op."""

    child = models.ForeignKey(Child, on_delete=models.CASCADE, related_name="source_records")
    source = models.CharField(max_length=64)
    source_kind = models.CharField(max_length=32)
    record_key = models.CharField(max_length=64)
    content_hash = models.CharField(max_length=64)
    feed_run = models.CharField(max_length=40)
    received = models.DateField()
    active = models.BooleanField(default=True)
    payload = models.BinaryField()

    class Meta:
        db_table = "children_source_record"
        # A record is found by (source, record key) and by child (the foreign key's own index).
        constraints = [models.UniqueConstraint(fields=["source", "record_key"], name="source_record_unique")]


class HeldRecord(models.Model):
    """A source's row taken from a feed, linked to no child and too thin to make one (no date of birth, or no
    name): kept, not discarded, until it can be taken in (``contactpoint.ingest.held``). Sealed under a data key
    of its own, wrapped by the key ring as a child's is (key rotation re-wraps it too); only IDs, dates and the
    reason in words are in clear."""

    source = models.CharField(max_length=64)
    source_kind = models.CharField(max_length=32)
    record_key = models.CharField(max_length=64)  # keyed, as a stored source record's
    content_hash = models.CharField(max_length=64)
    feed_run = models.CharField(max_length=64)
    line = models.PositiveIntegerField()  # in the feed run that last sent it
    received = models.DateField()
    responsible_la = models.CharField(max_length=3)
    reason = models.CharField(max_length=200)  # what it lacks, in words; never a value
    flags = models.JSONField(default=list)  # [field, reason] of each value it was taken without
    kek_id = models.CharField(max_length=64)
    wrapped = models.BinaryField()  # its own data key, wrapped
    payload = models.BinaryField()  # the row, sealed with that key and bound to the record key

    class Meta:
        db_table = "children_held_record"
        constraints = [models.UniqueConstraint(fields=["source", "record_key"], name="held_record_unique")]
        indexes = [models.Index(fields=["responsible_la", "received"], name="held_la_idx")]


class HeldToken(models.Model):
    """The identifier tokens of a held row (blind-index tokens, as a child's): a record that arrives with the
    same identifier finds the held row through them."""

    token = models.BigIntegerField(db_index=True)
    held = models.ForeignKey(HeldRecord, on_delete=models.CASCADE, related_name="tokens")

    class Meta:
        db_table = "children_held_token"
