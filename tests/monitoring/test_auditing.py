"""The auditor's workspace and access reports, through the pages: scope, acknowledge and resolve (audited),
evidence and surrounding activity, reports on screen and as CSV that a spreadsheet cannot run."""

from __future__ import annotations

import csv
import io
import random
from datetime import UTC, date, datetime

import lxml.html
import pytest
import time_machine
from hypothesis import given
from hypothesis import strategies as st

from contactpoint.audit.models import AuditEntry
from contactpoint.monitoring.engine import catch_up
from contactpoint.monitoring.models import Alert
from contactpoint.monitoring.thresholds import MonitorSettings
from contactpoint.spreadsheets import FORMULA_START, safe_cell
from tests.factories import make_person, sign_in
from tests.monitoring import misuse
from tests.monitoring.seed import SurnameLaw, World

NOW = datetime(2026, 11, 19, 9, tzinfo=UTC)
DAY = date(2026, 11, 18)


@pytest.fixture
def world(keyring):
    with time_machine.travel(NOW, tick=False):
        w = World(random.Random(5), SurnameLaw(2000), keyring)
        w.build(users=20, children=300, now=NOW)
        misuse.play("shield_override", w, w.staff[1], DAY)  # user0001, of Camden (LA-202)
        misuse.play("audit_trail", w, w.staff[1], DAY)  # about the trail: national auditors only
        catch_up(keyring, MonitorSettings())
        yield w


def _text(response) -> str:
    return " ".join(lxml.html.fromstring(response.content).text_content().split())


@pytest.mark.django_db
class TestWorkspace:
    def test_a_local_auditor_sees_their_areas_alerts_and_not_the_trails(self, client, world):
        with time_machine.travel(NOW, tick=False):
            auditor = make_person("la.auditor", role="auditor", org="LA-202")
            other = make_person("other.auditor", role="auditor", org="LA-204")
            sign_in(client, auditor)
            page = _text(client.get("/audit"))
            assert "Overrode shielding on a record" in page and "user0001" in page
            assert "audit trail is not intact" not in page
            assert "Chain length" in page
            client.logout()
            sign_in(client, other)
            assert "There are no alerts here" in _text(client.get("/audit"))
            alert = Alert.objects.get(rule="shield_override")
            assert client.get(f"/audit/alerts/{alert.pk}").status_code == 404

    def test_an_auditor_investigates_acknowledges_and_resolves_and_each_step_is_audited(self, client, world):
        with time_machine.travel(NOW, tick=False):
            auditor = make_person("national.auditor", role="national-auditor", org="CP-NATIONAL")
            sign_in(client, auditor)
            assert "The audit trail is not intact" in _text(client.get("/audit"))
            alert = Alert.objects.get(rule="shield_override")
            page = _text(client.get(f"/audit/alerts/{alert.pk}"))
            assert "Overrode shielding" in page and "Child protection enquiry" in page
            assert client.post(f"/audit/alerts/{alert.pk}/acknowledge").status_code == 302
            refused = client.post(f"/audit/alerts/{alert.pk}/resolve", {"outcome": "legitimate", "note": "ok"})
            assert refused.status_code == 400 and "at least 10 characters" in _text(refused)
            done = client.post(f"/audit/alerts/{alert.pk}/resolve",
                               {"outcome": "legitimate", "note": "Confirmed with the team manager: a live case."})
            assert done.status_code == 302
            page = _text(client.get(f"/audit/alerts/{alert.pk}"))
            assert "Legitimate use" in page and "Confirmed with the team manager" in page
            actions = list(AuditEntry.objects.filter(actor="national.auditor", action__startswith="monitor.alert")
                           .values_list("action", flat=True))
            assert {"monitor.alert.investigated", "monitor.alert.acknowledged", "monitor.alert.resolved"} <= \
                set(actions)
            resolved = AuditEntry.objects.get(action="monitor.alert.resolved")
            assert "team manager" not in resolved.detail  # the note is encrypted in the trail
            assert Alert.objects.get(pk=alert.pk).status == "resolved"

    def test_a_practitioner_cannot_reach_the_workspace(self, client, world):
        with time_machine.travel(NOW, tick=False):
            sign_in(client, make_person("just.social"))
            assert client.get("/audit").status_code == 403
            assert client.get("/audit/reports/child?cpid=x").status_code == 403


@pytest.mark.django_db
class TestReports:
    def test_a_childs_report_lists_who_searched_and_viewed_with_reasons_and_is_audited(self, client, world):
        with time_machine.travel(NOW, tick=False):
            kid = world.home_kids[3]
            staff = world.staff[2]
            world.search(staff, misuse.at_local(DAY, 10), kid=kid)
            world.view(staff, misuse.at_local(DAY, 10, 1), kid)
            sign_in(client, make_person("la.auditor", role="auditor", org="LA-202"))
            page = _text(client.get(f"/audit/reports/child?cpid={kid.cpid}"))
            assert "Viewed the record" in page and "Searched: the record was in the results" in page
            assert staff.user.username in page and "Child protection enquiry" in page
            response = client.get(f"/audit/reports/child?cpid={kid.cpid}&format=csv")
            assert response["Content-Type"].startswith("text/csv")
            rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
            assert rows[0][0] == "Entry" and len(rows) == 3
            reports = AuditEntry.objects.filter(action="monitor.access_report", subjects=[kid.cpid])
            assert sorted(reports.values_list("context__format", flat=True)) == ["csv", "html"]

    def test_a_child_outside_the_auditors_area_is_not_reported(self, client, world):
        with time_machine.travel(NOW, tick=False):
            sign_in(client, make_person("la.auditor", role="auditor", org="LA-202"))
            response = client.get(f"/audit/reports/child?cpid={world.other_kids[0].cpid}")
            assert response.status_code == 400 and "no child with that ContactPoint ID" in _text(response)
            assert client.get("/audit/reports/child?cpid=not-an-id").status_code == 400

    def test_a_users_report_lists_what_they_did(self, client, world):
        with time_machine.travel(NOW, tick=False):
            sign_in(client, make_person("la.auditor", role="auditor", org="LA-202"))
            page = _text(client.get("/audit/reports/user?username=user0001"))
            assert "Overrode shielding" in page
            assert client.get("/audit/reports/user?username=nobody").status_code == 400


@given(st.text(max_size=40))
def test_a_csv_cell_never_starts_a_formula(value):
    cell = safe_cell(value)
    assert not cell.startswith(FORMULA_START)
    assert cell == value or cell == "'" + value


@given(st.lists(st.text(max_size=20), min_size=1, max_size=6))
def test_csv_lines_round_trip_with_only_formula_cells_changed(cells):
    from contactpoint.monitoring.reports import Row, csv_lines

    row = Row(1, NOW, cells[0], "ORG", "role", "child.search", "what", "success", "reason", " ".join(cells), ("=1+1",))
    lines = list(csv_lines([row]))
    parsed = list(csv.reader(io.StringIO("".join(lines))))[1]
    assert all(not c.startswith(FORMULA_START) for c in parsed)
    assert parsed[2] in (cells[0], "'" + cells[0]) and parsed[9] == "'=1+1"
