"""Limits on how many different children one user may look up (``records.lookups``): stopped at the time, not
only noticed afterwards."""

from __future__ import annotations

import dataclasses
import threading
from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connections

from contactpoint.access.reasons import parse_reason
from contactpoint.audit.models import AuditEntry
from contactpoint.children.store import NewChild, create_children
from contactpoint.config import SearchSettings, get_settings
from contactpoint.errors import SearchRefused
from contactpoint.records.models import RecordLookup
from contactpoint.records.view import view_record
from contactpoint.vault.keyring import get_keyring
from tests.factories import make_person, make_record, sign_in

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
TWO_AN_HOUR = SearchSettings(records_per_hour=2, records_per_day=3)
REASON = parse_reason("child_protection")


def _children(n: int) -> list[str]:
    return [c.cpid for c in create_children(get_keyring(), [NewChild(make_record(
        given=f"Child{i}", dob=date(2014, 1, 1) + timedelta(days=i)), responsible_la="202") for i in range(n)],
        now=NOW)]


def _open(user, cpid, at=NOW, limits=TWO_AN_HOUR):
    return view_record(user, cpid, REASON, keyring=get_keyring(), now=at, limits=limits)


@pytest.mark.django_db
def test_a_third_different_child_in_an_hour_is_refused_saying_until_when_and_alerts_the_auditors():
    user = make_person().user
    a, b, c = _children(3)
    _open(user, a)
    _open(user, b, NOW + timedelta(minutes=10))
    _open(user, a, NOW + timedelta(minutes=20))  # the same child again: not another one
    # Until b's look-up leaves the hour (a's was renewed at 10:20).
    with pytest.raises(SearchRefused, match="until 11:10") as refused:
        _open(user, c, NOW + timedelta(minutes=30))
    assert refused.value.code == "rate_limited"
    [alert] = AuditEntry.objects.filter(action="child.record.rate_limited")
    assert alert.severity == "alert" and alert.actor == user.username and alert.subjects == []
    assert not AuditEntry.objects.filter(action="child.record.viewed", subjects=[c]).exists()
    _open(user, c, NOW + timedelta(minutes=70, seconds=1))  # a's and b's hour is over
    with pytest.raises(SearchRefused, match="a day"):  # three in the day
        _open(user, _children(1)[0], NOW + timedelta(hours=3))
    _open(user, b, NOW + timedelta(hours=4))  # but one of the day's three again is not a fourth


@pytest.mark.django_db
def test_the_record_page_says_opening_is_paused_and_until_when(client, monkeypatch):
    person = make_person()
    sign_in(client, person)
    a, b, c = _children(3)
    settings = get_settings()
    monkeypatch.setattr("contactpoint.config._settings", dataclasses.replace(
        settings, search=dataclasses.replace(settings.search, records_per_hour=2)))
    for cpid in (a, b):
        client.post(f"/children/{cpid}", {"reason": "child_protection"})
        assert client.get(f"/children/{cpid}").status_code == 200
    client.post(f"/children/{c}", {"reason": "child_protection"})
    page = client.get(f"/children/{c}")
    assert page.status_code == 429 and "Opening records is paused for you" in page.content.decode()
    assert "different children in an hour" in page.content.decode()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_look_ups_of_different_children_get_exactly_the_limit():
    user = make_person("con.current").user
    cpids = _children(20)
    barrier, outcomes = threading.Barrier(20), []

    def attempt(cpid: str) -> None:
        try:
            barrier.wait()
            _open(user, cpid, limits=SearchSettings(records_per_hour=5, records_per_day=100))
            outcomes.append("opened")
        except SearchRefused:
            outcomes.append("refused")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=attempt, args=(cpid,)) for cpid in cpids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("opened") == 5 and RecordLookup.objects.filter(user=user).count() == 5
