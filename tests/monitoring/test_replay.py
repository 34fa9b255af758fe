"""Replay: six weeks of synthetic practitioner activity for 300 users, with every kind of misuse seeded into the
last four, through the monitor. Every misuse must raise its alert, and benign use must raise no more than one
alert per 1,000 users per day. Precision and recall per rule are printed (run with -s to see them).

The first two weeks are the monitor's warm-up: baselines of users and roles, which users work nights, which
family names are searched for every day. Alerts in the warm-up are printed but not counted: a monitor is
judged in its steady state, and docs/monitoring.md says what to expect in its first weeks.

On PostgreSQL the same replay runs with 200 users (``CONTACTPOINT_REPLAY_USERS`` overrides): writing the trail
through ``record_event`` costs five round trips an entry, and the PostgreSQL pass is there to prove the
monitor's queries on that database, which a smaller population does as well.
"""

from __future__ import annotations

import os
import random
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine

from contactpoint.monitoring.engine import catch_up
from contactpoint.monitoring.models import Alert
from contactpoint.monitoring.rules import Rule
from contactpoint.monitoring.thresholds import MonitorSettings
from tests.monitoring import misuse
from tests.monitoring.seed import SurnameLaw, World

# Committed entry by entry, as in production: inside one test transaction PostgreSQL keeps every version of
# the chain head row, and each append would walk them all.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

CHILDREN = 3000
START = date(2026, 10, 19)  # a Monday
WARMUP_DAYS, MONTH_DAYS = 14, 28
MONTH = START + timedelta(days=WARMUP_DAYS)


def _pick_misusers(w: World, law: SurnameLaw) -> dict[str, object]:
    day_workers = [s for s in w.staff if not s.night]
    chosen, used = {}, set()
    for name in sorted(misuse.SCENARIOS):
        pool = [s for s in day_workers if s.user.username not in used]
        if name == "own_name":
            pool = [s for s in pool if law.rank(s.family) > 1000]
        if name == "shield_override":
            pool = [s for s in pool if s.user.role_code == "sch3-1a"]
        staff = pool[len(chosen) * 7 % len(pool)]
        used.add(staff.user.username)
        chosen[name] = staff
    return chosen


def test_every_misuse_is_caught_and_benign_use_is_quiet(keyring, capsys):
    from django.db import connection

    default_users = 200 if connection.vendor == "postgresql" else 300
    users = int(os.environ.get("CONTACTPOINT_REPLAY_USERS") or default_users)
    law = SurnameLaw()
    started = time.perf_counter()
    with time_machine.travel(datetime.combine(START, datetime.min.time(), tzinfo=UTC), tick=False) as clock:
        w = World(random.Random(2026), law, keyring)
        w.build(users=users, children=CHILDREN, now=datetime.now(UTC))
        misusers = _pick_misusers(w, law)
        w.benign(START, WARMUP_DAYS)
        settings = MonitorSettings()
        catch_up(keyring, settings)
        warmup_alerts = Counter(Alert.objects.values_list("rule", flat=True))
        warmup_ids = set(Alert.objects.values_list("pk", flat=True))

        truth: set[tuple[str, str]] = set()
        misuse_days = {}
        for n, (name, staff) in enumerate(sorted(misusers.items())):
            on = MONTH + timedelta(days=(n * 2) % 26)
            while on.weekday() >= 5:
                on += timedelta(days=1)
            misuse_days[name] = (staff, on)
        for offset in range(MONTH_DAYS):
            on = MONTH + timedelta(days=offset)
            today_misusers = {s.user.username for s, d in misuse_days.values() if d == on}
            w.benign(on, 1, skip=today_misusers)
            for name, (staff, d) in misuse_days.items():
                if d == on:
                    truth.add(misuse.play(name, w, staff, on))
            if offset % 7 == 6:  # the monitor keeps up as the trail grows
                clock.move_to(datetime.combine(on + timedelta(days=1), datetime.min.time(), tzinfo=UTC))
                catch_up(keyring, settings)
        generated = time.perf_counter() - started
        monitor_started = time.perf_counter()
        catch_up(keyring, settings)

    month_alerts = list(Alert.objects.exclude(pk__in=warmup_ids))
    raised = {misuse.alert_label(a) for a in month_alerts}
    misusers_names = {s.user.username for s in misusers.values()}
    benign = [a for a in month_alerts if misuse.alert_label(a) not in truth
              and a.subject_user not in misusers_names and not a.evidence.get("address") and a.subject_user]
    user_days = users * MONTH_DAYS
    with capsys.disabled():
        print(f"\n{w.events:,} audit entries generated in {generated:.0f} s "
              f"(monitor's final catch-up {time.perf_counter() - monitor_started:.1f} s)")
        print(f"warm-up ({WARMUP_DAYS} days): {sum(warmup_alerts.values())} alerts {dict(warmup_alerts)}")
        print(f"{'rule':<16}{'seeded':>7}{'caught':>7}{'alerts':>7}{'precision':>10}{'recall':>8}")
        for rule in Rule:
            seeded = {t for t in truth if t[0] == rule}
            alerts = {misuse.alert_label(a) for a in month_alerts if a.rule == rule}
            caught = seeded & alerts
            precision = len(caught) / len(alerts) if alerts else float("nan")
            recall = len(caught) / len(seeded) if seeded else float("nan")
            print(f"{rule:<16}{len(seeded):>7}{len(caught):>7}{len(alerts):>7}{precision:>10.2f}{recall:>8.2f}")
        rate = len(benign) * 1000 / user_days
        print(f"benign: {len(benign)} alerts over {user_days:,} user-days = {rate:.2f} per 1,000 users per day "
              f"{Counter(a.rule for a in benign)}")

    assert truth <= raised, f"missed: {truth - raised}"
    assert len(benign) * 1000 / user_days <= 1.0
