"""``contactpoint discrepancies SOURCE``: where trusted sources disagree, the less trusted source gets an item to
correct; it closes itself when a later feed agrees; a shielded child's whereabouts never appear in it."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from contactpoint.access.models import SourceSystem
from contactpoint.audit.models import AuditEntry
from contactpoint.bestview.models import Discrepancy
from contactpoint.children.models import Child
from tests.factories import vouched_org
from tests.matching.test_review import GP_ROW, NOW, feed, health_org, source

pytestmark = pytest.mark.django_db

# The school holds the right NHS number but a mistyped date of birth: the GP's (more trusted) date wins, and the
# school is asked to check its own.
SCHOOL_ROW = GP_ROW | {"source_record_id": "S-1", "date_of_birth": "2015-06-08", "setting_urn": "100001",
                       "setting_name": "Agar Grove Primary", "gp_practice_code": "", "gp_practice_name": ""}


@pytest.fixture
def sources():
    gp = source("gp-camden", "gp_registrations", health_org())
    school = source("agar-grove", "school_census", vouched_org())
    feed(gp, GP_ROW, now=NOW - timedelta(days=1))
    feed(school, SCHOOL_ROW)
    return gp, school


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("discrepancies", *args, stdout=out)
    return out.getvalue()


def test_the_less_trusted_source_gets_an_item_saying_what_others_hold(sources):
    assert Child.objects.count() == 1  # the two records are one child
    report = json.loads(run("agar-grove", "--format", "json"))
    assert report["source"] == "agar-grove" and report["count"] == 1
    [item] = report["items"]
    assert (item["source_record_id"], item["field"]) == ("S-1", "date_of_birth")
    assert "Others hold 2015-06-03" in item["message"] and item["opened"] == NOW.date().isoformat()
    assert json.loads(run("gp-camden", "--format", "json"))["count"] == 0  # the GP's date was taken
    entry = AuditEntry.objects.filter(action="feed.discrepancy.fetched").order_by("seq").first()
    assert entry.context == {"source": "agar-grove", "items": 1, "total": 1} and entry.actor == "system:operator-cli"


def test_csv_and_text_reports_carry_the_same_item(sources):
    rows = list(csv.DictReader(io.StringIO(run("agar-grove", "--format", "csv"))))
    assert [(r["source_record_id"], r["field"]) for r in rows] == [("S-1", "date_of_birth")]
    text = run("agar-grove")
    assert text.startswith("1 open item(s) for agar-grove") and "record S-1  date_of_birth:" in text


def test_an_item_closes_itself_when_a_later_feed_agrees(sources):
    _, school = sources
    feed(school, SCHOOL_ROW | {"date_of_birth": "2015-06-03"}, now=NOW + timedelta(days=2))
    assert json.loads(run("agar-grove", "--format", "json"))["count"] == 0
    closed = Discrepancy.objects.get()
    assert closed.closed_reason == "source agrees" and closed.closed_at == NOW + timedelta(days=2)


def test_a_shielded_childs_whereabouts_and_other_sources_values_never_appear(sources):
    Child.objects.update(shielded=True)
    for fmt in ("text", "csv", "json"):
        out = run("agar-grove", "--format", fmt)
        assert "S-1" in out and "date of birth" in out
        for secret in ("NW1", "Agar Grove", "12 Agar", "London", "Camden", "07700", "Sarah", "F83004",
                       "9434765919", "2015-06-03", "Others hold"):
            assert secret not in out, (fmt, secret)


def test_an_nhs_number_from_another_source_is_never_passed_on(sources):
    _, school = sources
    feed(school, SCHOOL_ROW | {"date_of_birth": "2015-06-03", "nhs_number": "4010232137"},
         now=NOW + timedelta(days=1))
    report = json.loads(run("agar-grove", "--format", "json"))
    messages = {i["field"]: i["message"] for i in report["items"]}
    assert set(messages) == {"nhs_number"}  # an update to a linked record stays with its child
    assert messages["nhs_number"].endswith("differs from the NHS number other sources hold for this child. "
                                           "Please check it.")
    assert "9434765919" not in json.dumps(report)


def test_an_unknown_source_is_refused_with_one_clear_line():
    with pytest.raises(CommandError, match="no source system 'nobody'"):
        run("nobody")
    assert not SourceSystem.objects.exists()
