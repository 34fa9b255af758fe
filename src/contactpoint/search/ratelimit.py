"""Per-user search rate limits (DESIGN.md: "Per-user rate limits; exceeding them blocks and raises an alert").

Three windows: a minute, an hour and a day. A search over any limit is refused; the refusal is written to the
audit trail at alert level, where monitoring picks it up. Every attempt counts, refused or not, so trawling with
too little detail is limited too."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import F, Q, Sum

from contactpoint.config import SearchSettings
from contactpoint.errors import SearchRefused
from contactpoint.search.models import SearchUsage


def _minute(now: datetime) -> datetime:
    return now.replace(second=0, microsecond=0)


def count_attempt(user_id: int, now: datetime) -> None:
    minute = _minute(now)
    updated = SearchUsage.objects.filter(user_id=user_id, minute=minute).update(count=F("count") + 1)
    if not updated:
        try:
            with transaction.atomic():
                SearchUsage.objects.create(user_id=user_id, minute=minute, count=1)
        except IntegrityError:
            SearchUsage.objects.filter(user_id=user_id, minute=minute).update(count=F("count") + 1)
        SearchUsage.objects.filter(user_id=user_id, minute__lt=minute - timedelta(days=1)).delete()


def check(user_id: int, now: datetime, limits: SearchSettings) -> None:
    """Raise ``SearchRefused(code="rate_limited")`` if the user has used up a window."""
    minute = _minute(now)
    windows = (
        ("minute", timedelta(minutes=1), limits.searches_per_minute, "a minute"),
        ("hour", timedelta(hours=1), limits.searches_per_hour, "an hour"),
        ("day", timedelta(days=1), limits.searches_per_day, "a day"),
    )
    # One query for the three windows (this runs on every search).
    used = SearchUsage.objects.filter(user_id=user_id, minute__gt=minute - timedelta(days=1)).aggregate(
        **{f"per_{name}": Sum("count", filter=Q(minute__gt=minute - span)) for name, span, _, _ in windows})
    for name, _, limit, words in windows:
        if (used[f"per_{name}"] or 0) >= limit:
            raise SearchRefused(
                f"You have made {limit} searches in {words}, the most ContactPoint allows. Searching is paused "
                f"for you; this has been reported. Try again later, or contact your ContactPoint administrator.",
                code="rate_limited")
