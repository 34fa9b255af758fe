"""Moves between local authorities (issue 19): a shielded child's new area stays secret; hand-over notices."""

from __future__ import annotations

import re
from datetime import date

import pytest
from django.core import mail

from contactpoint.access.reasons import parse_reason
from contactpoint.audit.models import AuditEntry
from contactpoint.bestview import discrepancies
from contactpoint.children.models import Child
from contactpoint.errors import NotFound, PermissionDenied
from contactpoint.lifecycle import moves, shielding
from contactpoint.lifecycle.models import HandOver, MoveReport, ShieldDecision
from contactpoint.records.view import view_record
from tests.api.clients import bearer, open_token
from tests.factories import make_person
from tests.lifecycle.support import at, feed, now, people, row, send, three_sources
from tests.lifecycle.test_life import proposal

pytestmark = pytest.mark.django_db

REFUGE = {"address": "1 Refuge Road", "postcode": "N7 6PA"}  # Islington (206); the child lived in Camden (202)
ISLINGTON = ("206", "Islington")


def _shielded(ring):
    dm1, dm2, worker = people()
    gp, school, benefit = three_sources()
    [child] = Child.objects.all()
    decision = shielding.propose(dm1, child.cpid, ShieldDecision.Kind.SHIELD, proposal(date(2021, 9, 1)),
                                 keyring=ring, now=now())
    shielding.decide(dm2, decision.pk, approve=True, note="", keyring=ring, now=now())
    return child, dm1, dm2, worker, gp


def _gp_reports_refuge(gp):
    send(gp, feed(**{"GP-1": row(**REFUGE, gp_practice_code="F83004", gp_practice_name="Camden Health Centre",
                                 gp_start_date="2012-06-01")}))


def _nothing_of_islington(text: str) -> None:
    # Whole words: a CSRF token or a key may hold "N7" or "206" by chance.
    for value in (*ISLINGTON, "N7", "N7 6PA", "Refuge"):
        assert not re.search(rf"\b{value}\b", text), value


def test_a_shielded_child_reported_in_another_authority_shows_neither_it_nor_any_change(ring, client):
    with at(date(2021, 3, 1)):
        child, dm1, _dm2, worker, gp = _shielded(ring)
        islington_dm = make_person("isla.data", role="data-manager", org="LA-206").user
        before = view_record(worker, child.cpid, parse_reason("child_protection"), keyring=ring, now=now())
    with at(date(2021, 6, 1)):
        _gp_reports_refuge(gp)
        assert Child.objects.get(pk=child.pk).responsible_la == "202"
        seen = view_record(worker, child.cpid, parse_reason("child_protection"), keyring=ring, now=now())
        assert seen.responsible_la == before.responsible_la == "202"
        _nothing_of_islington(repr(seen))
        token = bearer(open_token(client, make_person("api.user")))
        api = client.get(f"/api/v1/children/{child.cpid}", {"reason": "child_protection"}, **token)
        assert api.status_code == 200 and api.json()["responsible_local_authority"] == "202"
        _nothing_of_islington(api.content.decode())
        fhir = client.get(f"/fhir/Patient/{child.cpid}", {"_reason": "child_protection"}, **token)
        assert fhir.status_code == 200
        _nothing_of_islington(fhir.content.decode())
        for source in ("gp-test", "child-benefit-test", "school-census-test"):
            _nothing_of_islington(repr(discrepancies.report(source, keyring=ring)))
        # No hand-over notice to anyone, and Islington's team has nothing of the child.
        assert not HandOver.objects.exists()
        assert moves.hand_overs("206") == [] and moves.open_reports("206") == []
        with pytest.raises(NotFound):
            moves.reported_la(islington_dm, MoveReport.objects.get().pk, keyring=ring, now=now())
        # The keeping authority's item says a move was reported; the audit trail never says where to.
        [report] = moves.open_reports("202")
        assert report.child_id == child.pk
        for entry in AuditEntry.objects.filter(action__startswith="lifecycle.move"):
            _nothing_of_islington(f"{entry.context} {entry.detail} {entry.reason}")


def test_the_keeping_authority_can_hand_a_shielded_child_over_and_both_teams_are_told(ring,
                                                                                      django_capture_on_commit_callbacks):
    with at(date(2021, 3, 1)):
        child, dm1, _dm2, worker, gp = _shielded(ring)
        dm1.email = "dm.one@camden.example"
        dm1.save()
        islington_dm = make_person("isla.data", role="data-manager", org="LA-206").user
    with at(date(2021, 6, 1)):
        _gp_reports_refuge(gp)
        [report] = moves.open_reports("202")
        with pytest.raises(PermissionDenied):  # a practitioner may not learn where the child was reported
            moves.reported_la(worker, report.pk, keyring=ring, now=now())
        _, reported = moves.reported_la(dm1, report.pk, keyring=ring, now=now())
        assert reported == "206"
        opened = AuditEntry.objects.get(action="lifecycle.move.opened")
        assert opened.severity == "warning" and opened.subjects == [child.cpid]
        with django_capture_on_commit_callbacks(execute=True):
            moves.decide(dm1, report.pk, hand_over=True, keyring=ring, now=now())
        assert Child.objects.get(pk=child.pk).responsible_la == "206"
        assert MoveReport.objects.get().status == MoveReport.Status.HANDED_OVER
        [notice] = moves.hand_overs("202")
        assert moves.hand_overs("206") == [notice]
        assert (notice.from_la, notice.to_la, notice.how, notice.decided_by) == ("202", "206", "decision", dm1)
        assert moves.open_reports("202") == []
        [email] = mail.outbox
        assert email.to == ["dm.one@camden.example"]
        assert child.cpid not in email.body and "Hartley" not in email.body and "Islington" not in email.body
        [handed] = AuditEntry.objects.filter(action="lifecycle.handed_over")
        assert handed.subjects == [child.cpid] and handed.actor == dm1.username
        assert handed.context["from_la"] == "202" and handed.context["to_la"] == "206"
        assert moves.open_reports("206") == [] and islington_dm.organisation.la_code == "206"


def test_keeping_a_shielded_child_changes_nothing(ring):
    with at(date(2021, 3, 1)):
        child, dm1, _dm2, _worker, gp = _shielded(ring)
    with at(date(2021, 6, 1)):
        _gp_reports_refuge(gp)
        [report] = moves.open_reports("202")
        moves.decide(dm1, report.pk, hand_over=False, keyring=ring, now=now())
        assert Child.objects.get(pk=child.pk).responsible_la == "202"
        assert moves.open_reports("202") == [] and not HandOver.objects.exists()
        _gp_reports_refuge(gp)  # the same report again: nothing new (the feed is idempotent)
        assert Child.objects.get(pk=child.pk).responsible_la == "202"


def test_an_ordinary_move_hands_the_child_over_and_both_authorities_are_told(ring):
    with at(date(2021, 3, 1)):
        people()
        gp, _school, _benefit = three_sources()
        [child] = Child.objects.all()
    with at(date(2021, 6, 1)):
        _gp_reports_refuge(gp)
        assert Child.objects.get(pk=child.pk).responsible_la == "206"
        [notice] = moves.hand_overs("202")
        assert moves.hand_overs("206") == [notice]
        assert (notice.child_id, notice.from_la, notice.to_la, notice.how) == (child.pk, "202", "206", "feed")
        assert notice.at == now()
        assert not MoveReport.objects.exists()


def _signed_in(person):
    from django.test import Client

    from tests.factories import sign_in

    client = Client()
    assert sign_in(client, person).status_code == 302
    return client


def test_the_pages_hide_the_reported_area_until_a_data_manager_opens_the_move_and_hands_over(ring):
    with at(date(2021, 3, 1)):
        child, _dm1, _dm2, _worker, gp = _shielded(ring)
        camden = make_person("dm.pages", role="data-manager")
        islington = make_person("isla.data", role="data-manager", org="LA-206")
    with at(date(2021, 6, 1)):
        _gp_reports_refuge(gp)
        [report] = moves.open_reports("202")
        dm = _signed_in(camden)
        listing = dm.get("/lifecycle/moves")
        assert listing.status_code == 200
        text = listing.content.decode()
        assert "Amelia Hartley" in text and f"/lifecycle/moves/{report.pk}" in text
        _nothing_of_islington(text)
        viewed = AuditEntry.objects.filter(action="lifecycle.hand_overs.viewed").last()
        assert viewed.subjects == [child.cpid] and viewed.actor == camden.user.username
        other = _signed_in(islington)
        _nothing_of_islington(other.get("/lifecycle/moves").content.decode().replace("isla.data", ""))
        assert other.get(f"/lifecycle/moves/{report.pk}").status_code == 404
        page = dm.get(f"/lifecycle/moves/{report.pk}")
        assert page.status_code == 200 and "Islington" in page.content.decode()
        done = dm.post(f"/lifecycle/moves/{report.pk}", {"decision": "hand_over"})
        assert done.status_code == 302 and done["Location"] == "/lifecycle/moves"
        assert Child.objects.get(pk=child.pk).responsible_la == "206"
        after = other.get("/lifecycle/moves").content.decode()
        assert "Camden" in after and "Islington" in after and "Amelia Hartley" in after
        assert "Handed over by the authority" in after


def test_a_child_given_a_first_authority_is_not_a_hand_over(ring):
    from tests.lifecycle.support import source

    with at(date(2021, 3, 1)):
        benefit = source("child-benefit-test", "child_benefit")
        send(benefit, feed(**{"CB-1": row(address="", town="", postcode="")}))
        [child] = Child.objects.all()
        assert child.responsible_la == "000"
        send(benefit, feed(**{"CB-1": row()}))
        assert Child.objects.get(pk=child.pk).responsible_la == "202"
        assert not HandOver.objects.exists() and not MoveReport.objects.exists()
