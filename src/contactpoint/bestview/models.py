from __future__ import annotations

from django.db import models


class Discrepancy(models.Model):
    """A source holds a value (date of birth, name, NHS number, gender) that disagrees with the best view. It
    stays open until a later feed from that source agrees (or stops holding the record). No value is stored
    here: the report works it out from the records when the source asks."""

    source = models.CharField(max_length=64, db_index=True)
    record = models.ForeignKey("children.SourceRecord", on_delete=models.CASCADE, related_name="discrepancies")
    child = models.ForeignKey("children.Child", on_delete=models.CASCADE, related_name="+")
    field = models.CharField(max_length=32)
    opened_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_reason = models.CharField(max_length=40, blank=True)

    class Meta:
        db_table = "bestview_discrepancy"
        indexes = [models.Index(fields=["source", "closed_at"], name="discrepancy_open_idx")]
