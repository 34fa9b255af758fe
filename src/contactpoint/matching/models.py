from __future__ import annotations

from django.db import models


class ReviewItem(models.Model):
    """Two children that may be the same child: the model was unsure, or a hard rule (different NHS numbers,
    given names that cannot be the same) stopped an automatic link. A data manager links them, keeps them apart
    or defers. ``evidence`` is the comparison levels of the closest pair of records (words like "exact",
    "typo": no personal data); the records themselves are decrypted only to be shown side by side."""

    class Status(models.TextChoices):
        OPEN = "open"
        DEFERRED = "deferred"
        LINKED = "linked"
        KEPT_APART = "kept_apart"

    child_a = models.ForeignKey("children.Child", on_delete=models.CASCADE, related_name="+")
    child_b = models.ForeignKey("children.Child", on_delete=models.CASCADE, related_name="+")
    record_a = models.CharField(max_length=64)  # record_key of the closest pair
    record_b = models.CharField(max_length=64)
    probability = models.FloatField()
    evidence = models.JSONField(default=dict)
    why = models.CharField(max_length=100)
    responsible_la = models.CharField(max_length=3, db_index=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField()
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.CharField(max_length=150, blank=True)

    class Meta:
        db_table = "matching_review_item"
        ordering = ["-probability", "id"]


class Label(models.Model):
    """A human decision on a pair of source records, kept to evaluate and retrain the model."""

    record_a = models.CharField(max_length=64)
    record_b = models.CharField(max_length=64)
    is_match = models.BooleanField()
    decided_by = models.CharField(max_length=150)
    decided_at = models.DateTimeField()

    class Meta:
        db_table = "matching_label"


class Merge(models.Model):
    """A merge of ``absorbed`` into ``survivor``, with the source records moved, so that it can be undone."""

    survivor = models.ForeignKey("children.Child", on_delete=models.CASCADE, related_name="+")
    absorbed = models.ForeignKey("children.Child", on_delete=models.CASCADE, related_name="+")
    record_keys = models.JSONField(default=list)
    merged_at = models.DateTimeField()
    merged_by = models.CharField(max_length=150)
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.CharField(max_length=150, blank=True)
    # The review decision that made it (None for a merge made otherwise), and what a split needs to put things
    # back as they were: the survivor's shielding, the content hash of each moved record (a record changed since
    # means the absorbed child's view is rebuilt rather than restored as it was), practitioners' entries moved,
    # and other review items re-pointed at the survivor (see ``contactpoint.matching.review``).
    review = models.ForeignKey(ReviewItem, null=True, blank=True, on_delete=models.SET_NULL, related_name="merges")
    before = models.JSONField(default=dict)

    class Meta:
        db_table = "matching_merge"


class ReviewDecision(models.Model):
    """One decision on a review item, in order: deferrals (with a note), then link or keep apart, and a split if
    a link was undone. The note is free text a data manager wrote, so it may name the child: it is sealed with
    the data key of the item's first child (``child_a``), like every other value about them."""

    class Kind(models.TextChoices):
        LINK = "link", "Linked: the same child"
        KEEP_APART = "keep_apart", "Kept apart: different children"
        DEFER = "defer", "Deferred"
        SPLIT = "split", "Split: the link was undone"

    item = models.ForeignKey(ReviewItem, on_delete=models.CASCADE, related_name="decisions")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    decided_by = models.CharField(max_length=150)
    organisation = models.CharField(max_length=32, blank=True)
    decided_at = models.DateTimeField()
    note = models.BinaryField(default=b"", blank=True)
    merge = models.ForeignKey(Merge, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        db_table = "matching_review_decision"
        ordering = ("decided_at", "id")


class TermFrequency(models.Model):
    """How many of England's children share one given name, family name or postcode (``matching.frequencies``):
    the match model's term-frequency adjustments. The value is a keyed hash (HMAC under a key of the key ring),
    never stored beside any child, and values shared by fewer than ``frequencies.FLOOR`` are not stored at all."""

    token = models.BigIntegerField(primary_key=True)
    count = models.PositiveIntegerField()

    class Meta:
        db_table = "matching_term_frequency"


class FrequencyTotal(models.Model):
    """How many values were counted for each column (the denominator of a frequency), the chance that two of them
    picked at random agree (the sum of the squared frequencies), when, and from what."""

    column = models.CharField(max_length=16, primary_key=True)
    total = models.BigIntegerField()
    agreement = models.FloatField()
    counted_at = models.DateTimeField()
    counted_from = models.CharField(max_length=16)  # "index" or "files"

    class Meta:
        db_table = "matching_frequency_total"
