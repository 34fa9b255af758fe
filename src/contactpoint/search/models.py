from __future__ import annotations

from django.db import models


class SearchUsage(models.Model):
    """Searches per user per minute, for the rate limits (a user over a limit is blocked and monitoring
    alerted). Rows older than a day are pruned as new ones are written."""

    user = models.ForeignKey("access.User", on_delete=models.CASCADE, related_name="+")
    minute = models.DateTimeField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        db_table = "search_usage"
        constraints = [models.UniqueConstraint(fields=["user", "minute"], name="search_usage_user_minute")]
