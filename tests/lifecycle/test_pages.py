"""The data managers' pages: every change through a form, refusals on the form, another authority's records 404."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from contactpoint.audit.models import AuditEntry
from contactpoint.children.models import Child
from contactpoint.lifecycle.models import ShieldDecision, StayConsent
from tests.factories import make_person, sign_in
from tests.lifecycle.support import born, lifecycle_run

pytestmark = pytest.mark.django_db


def _client(person) -> Client:
    client = Client()
    assert sign_in(client, person).status_code == 302
    return client


def _date(prefix: str, day: date) -> dict[str, str]:
    return {f"{prefix}-day": str(day.day), f"{prefix}-month": str(day.month), f"{prefix}-year": str(day.year)}


SHIELD = {"reason": "Fled domestic violence; the father is looking for the family.", "threat": "high",
          "child_view": "Wants to stay safe.", "carer_view": "Asked for it.", "body_1": "Camden Health Centre",
          "asked_1": "Practice manager", "said_1": "Supports it."}


@pytest.fixture
def team(ring):
    return make_person("dm.one", role="data-manager"), make_person("dm.two", role="data-manager"), make_person()


def test_a_shield_is_proposed_approved_by_a_second_officer_and_then_hides_whereabouts(team):
    dm1, dm2, worker = team
    cpid = born(date(2015, 6, 3))
    one, two, practitioner = _client(dm1), _client(dm2), _client(worker)
    today = timezone.localdate()
    page = one.post(f"/lifecycle/children/{cpid}/shield", {**SHIELD, **_date("asked_on_1", today)}).content.decode()
    assert "Enter the date the shield must be reviewed" in page and "govuk-error-summary" in page
    response = one.post(f"/lifecycle/children/{cpid}/shield", {**SHIELD, **_date("asked_on_1", today),
                                                               **_date("review_on", today + timedelta(days=90))})
    assert response.status_code == 302
    page = one.get(response["Location"]).content.decode()
    assert "It has no effect until a second authorised officer approves it" in page
    decision = ShieldDecision.objects.get()
    assert not Child.objects.get(cpid=cpid).shielded
    assert "You made this proposal" in one.get(f"/lifecycle/decisions/{decision.pk}").content.decode()
    refused = one.post(f"/lifecycle/decisions/{decision.pk}", {"decision": "approve"}).content.decode()
    assert "A second authorised officer must decide" in refused
    worklist = two.get("/lifecycle").content.decode()
    assert f"/lifecycle/decisions/{decision.pk}" in worklist and "Amelia" not in worklist
    seen = two.get(f"/lifecycle/decisions/{decision.pk}").content.decode()
    assert "Fled domestic violence" in seen and "Camden Health Centre" in seen
    assert two.post(f"/lifecycle/decisions/{decision.pk}", {"decision": "approve"}).status_code == 302
    assert Child.objects.get(cpid=cpid).shielded
    practitioner.post(f"/children/{cpid}", {"reason": "education"})
    record = practitioner.get(f"/children/{cpid}").content.decode()
    assert "Amelia" in record and "Sarah Hartley" in record
    assert "12 Agar Grove" not in record and "Camden Health Centre" not in record and "07700 900123" not in record


def test_hidden_fields_need_a_reason_are_shown_once_and_audited(team):
    dm1, _, _ = team
    cpid = born(date(2015, 6, 3), shielded=True)
    client = _client(dm1)
    assert "Say in at least 10 characters" in client.post(f"/lifecycle/children/{cpid}/hidden",
                                                          {"reason": "x"}).content.decode()
    page = client.post(f"/lifecycle/children/{cpid}/hidden",
                       {"reason": "Health visitor asks to reach the GP"}).content.decode()
    assert "12 Agar Grove" in page and "Camden Health Centre" in page
    assert AuditEntry.objects.filter(action="shield.hidden_fields.viewed", subjects=[cpid]).count() == 1


def test_another_authoritys_record_is_not_found(team):
    from contactpoint.children.store import NewChild, create_children
    from contactpoint.vault.keyring import get_keyring
    from tests.factories import make_record

    dm1, _, _ = team
    [other] = create_children(get_keyring(), [NewChild(make_record(), responsible_la="204")], now=timezone.now())
    client = _client(dm1)
    for path in ("", "/shield", "/consent", "/death", "/hidden"):
        assert client.get(f"/lifecycle/children/{other.cpid}{path}").status_code in (404, 200), path
    assert client.get(f"/lifecycle/children/{other.cpid}").status_code == 404
    assert client.post(f"/lifecycle/children/{other.cpid}/death",
                       {**_date("date_of_death", date(2024, 1, 1)), "how": "Registrar"}).status_code == 404


def test_consent_is_recorded_only_when_informed_and_then_withdrawn(team):
    dm1, _, _ = team
    cpid = born(timezone.localdate() - timedelta(days=17 * 365))
    client = _client(dm1)
    form = {"basis": "care_leaver", "given_by": "Amelia Hartley", "method": "in_person",
            "explained_by": "Personal adviser", **_date("given_on", timezone.localdate())}
    assert "Consent must be informed" in client.post(f"/lifecycle/children/{cpid}/consent", form).content.decode()
    assert client.post(f"/lifecycle/children/{cpid}/consent", {**form, "informed": "on"}).status_code == 302
    assert StayConsent.objects.get().status == "active"
    assert client.post(f"/lifecycle/children/{cpid}/consent/withdraw",
                       {**_date("on", timezone.localdate()), "how": "Told her adviser"}).status_code == 302
    assert StayConsent.objects.get().status == "withdrawn"


def test_the_archive_page_lists_the_authoritys_archived_records_and_opens_one_with_a_reason(team):
    dm1, _, _ = team
    cpid = born(timezone.localdate() - timedelta(days=18 * 366))
    lifecycle_run()
    client = _client(dm1)
    listing = client.get("/lifecycle/archive").content.decode()
    assert "Amelia Hartley" in listing and "Reached 18" in listing
    record = client.post(f"/lifecycle/archive/{cpid}", {"reason": "Leaving care team asked for contacts"})
    assert "12 Agar Grove" in record.content.decode()


def test_a_sealed_record_is_opened_by_two_officers(team):
    dm1, dm2, _ = team
    cpid = born(date(2015, 6, 3))
    one, two = _client(dm1), _client(dm2)
    new = one.post(f"/lifecycle/children/{cpid}/new-identity", {"kind": "adoption", "given": "Grace",
                                                                "family": "Okafor"}).content.decode()
    assert "New identity recorded" in new and cpid not in new
    assert "There is a problem" in one.post("/lifecycle/sealed", {"contactpoint_id": cpid, "purpose": "curious",
                                                                  "details": "I would like to look"}).content.decode()
    assert one.post("/lifecycle/sealed", {"contactpoint_id": cpid, "purpose": "serious_case_review",
                                          "details": "Serious case review 2026/11 ordered"}).status_code == 302
    from contactpoint.lifecycle.models import SealedOpening

    opening = SealedOpening.objects.get()
    assert two.post(f"/lifecycle/sealed/{opening.pk}", {"decision": "approve"}).status_code == 302
    page = one.get(f"/lifecycle/sealed/{opening.pk}").content.decode()
    assert "12 Agar Grove" in page and "The child now has the ContactPoint ID" in page
