from __future__ import annotations

from django.db import models


class Discrepancy(models.Model):
    """An item for a source to check, open until the source puts it right (or stops holding the record):

    - ``disagreement``: the source holds a value (date of birth, name, NHS number, gender) that disagrees with
      the best view; no value is stored here, the report works it out from the records when the source asks;
    - ``invalid``: a value the source sent was wrong or missing, and its record was taken without it
      (``reason`` says which rule it broke, never the value); it closes when the source sends the record again
      without the fault.

    The source answers an open item (``state``): ``acknowledged`` (it has seen it and will correct its record) or
    ``disputed`` (its value is right, with a reason in its own words). Either way the item stays open until the
    data agrees or the value is corrected. The reason is free text a source typed, so it may name the child: it
    is sealed with the data key of the child the item belonged to when it was disputed (``dispute_child``: a
    merge moves the item to another child, whose key did not seal it), and shown only to the data managers of
    the child's local authority."""

    class Kind(models.TextChoices):
        DISAGREEMENT = "disagreement", "Disagrees with other sources"
        INVALID = "invalid", "Wrong or missing value"

    class State(models.TextChoices):
        OPEN = "open", "Not answered"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        DISPUTED = "disputed", "Disputed"

    source = models.CharField(max_length=64, db_index=True)
    record = models.ForeignKey("children.SourceRecord", on_delete=models.CASCADE, related_name="discrepancies")
    child = models.ForeignKey("children.Child", on_delete=models.CASCADE, related_name="+")
    field = models.CharField(max_length=100)
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.DISAGREEMENT)
    reason = models.CharField(max_length=300, blank=True)
    opened_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_reason = models.CharField(max_length=40, blank=True)
    state = models.CharField(max_length=12, choices=State.choices, default=State.OPEN)
    answered_at = models.DateTimeField(null=True, blank=True)
    answered_by = models.CharField(max_length=150, blank=True)  # the audit actor: source:<code>, or the operator
    dispute_reason = models.BinaryField(default=b"", blank=True)  # sealed; empty unless disputed
    dispute_child = models.ForeignKey("children.Child", null=True, blank=True, on_delete=models.SET_NULL,
                                      related_name="+")

    class Meta:
        db_table = "bestview_discrepancy"
        indexes = [models.Index(fields=["source", "closed_at"], name="discrepancy_open_idx")]
