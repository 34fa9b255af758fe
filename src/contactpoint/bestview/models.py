from __future__ import annotations

from django.db import models


class Discrepancy(models.Model):
    """An item for a source to check, open until the source puts it right (or stops holding the record):

    - ``disagreement``: the source holds a value (date of birth, name, NHS number, gender) that disagrees with
      the best view; no value is stored here, the report works it out from the records when the source asks;
    - ``invalid``: a value the source sent was wrong or missing, and its record was taken without it
      (``reason`` says which rule it broke, never the value); it closes when the source sends the record again
      without the fault."""

    class Kind(models.TextChoices):
        DISAGREEMENT = "disagreement", "Disagrees with other sources"
        INVALID = "invalid", "Wrong or missing value"

    source = models.CharField(max_length=64, db_index=True)
    record = models.ForeignKey("children.SourceRecord", on_delete=models.CASCADE, related_name="discrepancies")
    child = models.ForeignKey("children.Child", on_delete=models.CASCADE, related_name="+")
    field = models.CharField(max_length=100)
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.DISAGREEMENT)
    reason = models.CharField(max_length=300, blank=True)
    opened_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_reason = models.CharField(max_length=40, blank=True)

    class Meta:
        db_table = "bestview_discrepancy"
        indexes = [models.Index(fields=["source", "closed_at"], name="discrepancy_open_idx")]
