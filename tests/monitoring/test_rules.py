"""Each rule on its own: the misuse it is for raises its alert, with evidence, once; ordinary work does not."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime

import pytest
import time_machine

from contactpoint.audit.models import AuditEntry
from contactpoint.monitoring.engine import catch_up, lag
from contactpoint.monitoring.models import Alert, MonitorCursor, UserDay
from contactpoint.monitoring.rules import Rule
from contactpoint.monitoring.thresholds import MonitorSettings
from tests.monitoring import misuse
from tests.monitoring.seed import SurnameLaw, World

pytestmark = pytest.mark.django_db

DAY = date(2026, 11, 18)  # a Wednesday
NOW = datetime(2026, 11, 19, 9, tzinfo=UTC)
LAW = SurnameLaw()


@pytest.fixture
def world(keyring):
    with time_machine.travel(NOW, tick=False):
        w = World(random.Random(11), LAW, keyring)
        w.build(users=30, children=600, now=NOW)
        yield w


def _rare(w: World):
    return next(s for s in w.staff if LAW.rank(s.family) > 1000 and not s.night)


@pytest.mark.parametrize("name", sorted(misuse.SCENARIOS))
def test_each_misuse_raises_its_alert_with_evidence(world, keyring, name):
    staff = _rare(world) if name == "own_name" else world.staff[3]
    expected = misuse.play(name, world, staff, DAY)
    catch_up(keyring, MonitorSettings(own_name_warmup=10**9))
    labels = {misuse.alert_label(a) for a in Alert.objects.all()}
    assert expected in labels
    alert = next(a for a in Alert.objects.all() if misuse.alert_label(a) == expected)
    assert alert.entries and AuditEntry.objects.filter(seq__in=alert.entries).exists()
    raised = AuditEntry.objects.get(seq=alert.raised_seq)
    assert raised.action == "monitor.alert.raised" and raised.context["rule"] == expected[0]
    assert raised.target_user == alert.subject_user


def test_an_ordinary_working_day_raises_nothing(world, keyring):
    for staff in world.staff[:10]:
        world.benign_day(staff, DAY)
    catch_up(keyring, MonitorSettings())
    assert list(Alert.objects.values_list("rule", "subject_user")) == []
    assert UserDay.objects.filter(day=DAY).exists()


def test_running_again_raises_nothing_twice_and_the_cursor_reaches_the_head(world, keyring):
    misuse.play("shield_override", world, world.staff[4], DAY)
    catch_up(keyring, MonitorSettings())
    first = Alert.objects.count()
    MonitorCursor.objects.update(seq=0)  # as if the cursor were lost: the alerts' keys stop duplicates
    catch_up(keyring, MonitorSettings())
    assert Alert.objects.count() == first == 1
    assert lag()[0] == 0


def test_a_common_surname_searched_by_its_bearer_is_no_alert_once_searches_are_counted(world, keyring):
    staff = world.staff[5]
    for n in range(30):
        world.search(world.staff[6], misuse.at_local(DAY, 9, n), family=staff.family)
    misuse.own_name(world, staff, DAY)
    catch_up(keyring, MonitorSettings(own_name_warmup=20, own_name_common_share=0.1))
    assert not Alert.objects.filter(rule=Rule.OWN_NAME).exists()


def test_a_night_worker_with_a_history_of_nights_is_not_alerted(world, keyring):
    staff = next(s for s in world.staff if not s.night)
    for day in (2, 3, 4, 5, 9, 10):
        misuse.out_of_hours(world, staff, date(2026, 11, day))
    catch_up(keyring, MonitorSettings())
    alerted_days = set(Alert.objects.filter(rule=Rule.OUT_OF_HOURS).values_list("evidence__day", flat=True))
    assert alerted_days == {"2026-11-02", "2026-11-03", "2026-11-04"}  # then it is their habit
