"""How many different children one user may look up: ``CONTACTPOINT_RECORDS_PER_HOUR`` (default 60) and
``CONTACTPOINT_RECORDS_PER_DAY`` (default 200). The search limits count searches; these count records opened,
so that fifty children looked up one by one, five a minute, are stopped at the time and not only noticed by the
monitor's alerts afterwards. Opening a record already opened within the window does not count again.

Checked and counted in one transaction holding the user's row (as the search limits are), so concurrent
requests cannot pass a limit between them."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from contactpoint.access.models import User
from contactpoint.config import SearchSettings
from contactpoint.errors import SearchRefused
from contactpoint.records.models import RecordLookup

_WINDOWS = (("hour", timedelta(hours=1), "an hour"), ("day", timedelta(days=1), "a day"))


def take(user_id: int, child_id: int, now: datetime, limits: SearchSettings) -> None:
    """Count this look-up, or raise ``SearchRefused(code="rate_limited")`` saying when the user may look up
    another child."""
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=user_id).values_list("pk", flat=True).first()
        recent = list(RecordLookup.objects.filter(user_id=user_id, last_viewed_at__gt=now - timedelta(days=1))
                      .exclude(child_id=child_id).values_list("last_viewed_at", flat=True).order_by(
                          "last_viewed_at"))
        last = RecordLookup.objects.filter(user_id=user_id, child_id=child_id).values_list(
            "last_viewed_at", flat=True).first()
        for name, span, words in _WINDOWS:
            if last is not None and last > now - span:
                continue  # one of this window's children already: opening it again is not another
            limit = limits.records_per_hour if name == "hour" else limits.records_per_day
            within = [at for at in recent if at > now - span]
            if len(within) >= limit:
                free = timezone.localtime(within[len(within) - limit] + span)
                raise SearchRefused(
                    f"You have opened the records of {limit} different children in {words}, the most "
                    f"ContactPoint allows. Opening other records is paused for you until {free:%H:%M} (UK time); "
                    "this has been reported. If you need to sooner, contact your ContactPoint administrator.",
                    code="rate_limited")
        _, created = RecordLookup.objects.update_or_create(user_id=user_id, child_id=child_id,
                                                           defaults={"last_viewed_at": now})
        if created:  # a new child: the day-old rows go
            RecordLookup.objects.filter(user_id=user_id, last_viewed_at__lt=now - timedelta(days=1)).delete()
