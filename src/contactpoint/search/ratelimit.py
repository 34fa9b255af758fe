"""Per-user search rate limits (DESIGN.md: "Per-user rate limits; exceeding them blocks and raises an alert").

Three windows: a minute, an hour and a day. A search over any limit is refused; the refusal is written to the
audit trail at alert level, where monitoring picks it up, and says when the user may search again. Every attempt
within the limits counts, whatever its outcome, so trawling with too little detail is limited too.

``take`` checks and counts in one transaction holding a lock on the user's row: two searches by one user at the
same moment (thirty browser tabs, a script) are counted one after the other, so the limit is exact. Counting
first and checking after, without the lock, let 11 to 14 of 30 concurrent searches through a limit of 10.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone

from contactpoint.access.models import User
from contactpoint.config import SearchSettings
from contactpoint.errors import SearchRefused
from contactpoint.search.models import SearchUsage

_WINDOWS = (("minute", timedelta(minutes=1), "a minute"), ("hour", timedelta(hours=1), "an hour"),
            ("day", timedelta(days=1), "a day"))


def _minute(now: datetime) -> datetime:
    return now.replace(second=0, microsecond=0)


def _limit(limits: SearchSettings, name: str) -> int:
    return {"minute": limits.searches_per_minute, "hour": limits.searches_per_hour,
            "day": limits.searches_per_day}[name]


def take(user_id: int, now: datetime, limits: SearchSettings) -> None:
    """Count this search against the user's limits, or raise ``SearchRefused(code="rate_limited")`` (counting
    nothing) if it would go over one, saying when the user may search again."""
    minute = _minute(now)
    with transaction.atomic():
        # The user's row is the lock: one user's searches are counted one at a time, whichever minute row
        # they touch (a per-minute row alone would not serialise two searches either side of a minute).
        User.objects.select_for_update().filter(pk=user_id).values_list("pk", flat=True).first()
        rows = list(SearchUsage.objects.filter(user_id=user_id, minute__gt=minute - timedelta(days=1))
                    .values_list("minute", "count"))
        for name, span, words in _WINDOWS:
            limit = _limit(limits, name)
            within = sorted((m, n) for m, n in rows if m > minute - span)
            if sum(n for _, n in within) >= limit:
                raise SearchRefused(
                    f"You have made {limit} searches in {words}, the most ContactPoint allows. Searching is paused "
                    f"for you until {_free_at(within, limit, span):%H:%M} (UK time); this has been reported. If you "
                    "need to search sooner, contact your ContactPoint administrator.", code="rate_limited")
        # One statement where update_or_create took four (a savepoint, a locking read, a write, a release): a
        # search's rate limit was a tenth of its cost. Under the user's lock, the rows read say whether the minute
        # is new.
        with connection.cursor() as cursor:
            cursor.execute(f"INSERT INTO {SearchUsage._meta.db_table} (user_id, minute, count) VALUES (%s, %s, 1) "
                           "ON CONFLICT (user_id, minute) DO UPDATE SET count = "
                           f"{SearchUsage._meta.db_table}.count + 1",
                           [user_id, connection.ops.adapt_datetimefield_value(minute)])
        if minute not in {m for m, _ in rows}:  # a new minute: the day-old rows go
            SearchUsage.objects.filter(user_id=user_id, minute__lt=minute - timedelta(days=1)).delete()


def _free_at(within: list[tuple[datetime, int]], limit: int, span: timedelta) -> datetime:
    """When enough of the window's searches will have left it for one more to fit."""
    used = sum(n for _, n in within)
    for at, n in within:  # oldest first
        used -= n
        if used < limit:
            return _local(at + span)
    return _local(within[-1][0] + span)


def _local(at: datetime) -> datetime:
    return timezone.localtime(at)
