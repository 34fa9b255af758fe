"""The pages a data manager corrects or completes a record with (issue 19): "Change" beside each value for the
responsible authority's data managers only, a form with the new value and a reason, a confirmation, the identifier
changes awaiting a second data manager, and withdrawing a change."""

from __future__ import annotations

from datetime import date

import pytest
from django.test import Client

from contactpoint.audit.models import AuditEntry
from contactpoint.children.models import Child
from contactpoint.records.models import Amendment
from tests.factories import make_person, sign_in
from tests.lifecycle.support import born, feed, row, send, source

pytestmark = pytest.mark.django_db


@pytest.fixture
def team(ring):
    return make_person("dm.one", role="data-manager"), make_person("dm.two", role="data-manager"), make_person()


def _client(person) -> Client:
    client = Client()
    assert sign_in(client, person).status_code == 302
    return client


def _record(client: Client, cpid: str) -> str:
    client.post(f"/children/{cpid}", {"reason": "child_protection"})
    return client.get(f"/children/{cpid}").content.decode()


def _child() -> str:
    send(source("gp-test", "gp_registrations"), feed(**{"GP-1": row()}))
    return Child.objects.get().cpid


def test_a_changed_name_shows_who_changed_it_for_which_authority_and_when(team):
    dm1, _, _ = team
    cpid = _child()
    one = _client(dm1)
    record = _record(one, cpid)
    assert f"/children/{cpid}/change/name" in record and f"/children/{cpid}/change/upn" in record
    form = one.get(f"/children/{cpid}/change/name").content.decode()
    assert "Change Amelia Hartley" in form and 'value="Hartley"' in form
    refused = one.post(f"/children/{cpid}/change/name", {"given_name": "Amelia", "family_name": "Hartley",
                                                        "middle_names": "Rose"}).content.decode()
    assert "Say why the value is being changed" in refused and "govuk-error-summary" in refused
    response = one.post(f"/children/{cpid}/change/name", {"given_name": "Amelia", "middle_names": "Rose",
                                                          "family_name": "Hartley", "reason": "Her mother told us."})
    assert response.status_code == 302
    confirmation = one.get(response["Location"]).content.decode()
    assert "Record changed" in confirmation and "Amelia Rose Hartley" in confirmation
    record = _record(one, cpid)
    assert "Amelia Rose Hartley" in record
    assert "Changed by Dm One, Camden local authority, on" in record
    assert AuditEntry.objects.filter(action="record.amended", subjects=[cpid]).count() == 1


def test_an_invalid_value_is_refused_on_the_form_with_what_is_wrong(team):
    dm1, _, _ = team
    cpid = _child()
    page = _client(dm1).post(f"/children/{cpid}/change/nhs_number",
                             {"nhs_number": "9434765918", "reason": "Typo."}).content.decode()
    assert "check digit is wrong" in page and "govuk-error-summary" in page
    assert not Amendment.objects.exists()


def test_an_nhs_number_change_waits_on_the_list_for_a_second_data_manager(team):
    dm1, dm2, _ = team
    cpid = _child()
    one, two = _client(dm1), _client(dm2)
    response = one.post(f"/children/{cpid}/change/nhs_number", {"nhs_number": "943 476 5870",
                                                               "reason": "The GP's is a sibling's."})
    change = Amendment.objects.get()
    assert "Change awaiting approval" in one.get(response["Location"]).content.decode()
    assert "943 476 5870" not in _record(one, cpid)
    assert "You proposed this change" in one.get(f"/record-changes/{change.key}").content.decode()
    refused = one.post(f"/record-changes/{change.key}", {"decision": "approve"}).content.decode()
    assert "A second data manager must decide" in refused
    waiting = two.get("/record-changes").content.decode()
    assert f"/record-changes/{change.key}" in waiting and "Amelia" not in waiting
    assert two.post(f"/record-changes/{change.key}", {"decision": "approve"}).status_code == 302
    record = _record(two, cpid)
    assert "943 476 5870" in record and "Changed by Dm One" in record


def test_withdrawing_a_change_brings_back_the_sources_value(team):
    dm1, dm2, _ = team
    cpid = _child()
    one = _client(dm1)
    one.post(f"/children/{cpid}/change/gender", {"gender": "male", "reason": "Typo in the GP's record."})
    change = Amendment.objects.get()
    assert f"/record-changes/{change.key}" in _record(one, cpid)
    two = _client(dm2)
    assert two.post(f"/record-changes/{change.key}/withdraw").status_code == 302
    assert "Change withdrawn" in two.get(f"/record-changes/{change.key}").content.decode()
    record = _record(two, cpid)
    assert "Female" in record and "Changed by" not in record


def test_another_authority_and_a_practitioner_see_no_change_links_and_are_refused(team):
    _, _, worker = team
    cpid = _child()
    other = make_person("ola.other", role="data-manager", org="LA-203")
    for person, status in ((other, 404), (worker, 403)):
        client = _client(person)
        assert "/change/" not in _record(client, cpid)
        assert client.get(f"/children/{cpid}/change/name").status_code == status
        assert client.post(f"/children/{cpid}/change/gender", {"gender": "male", "reason": "x"}).status_code == status
    assert not Amendment.objects.exists()


def test_a_shielded_childs_withheld_values_have_no_change_link_and_cannot_be_changed(team):
    dm1, _, _ = team
    cpid = born(date(2015, 6, 3), shielded=True)
    one = _client(dm1)
    record = _record(one, cpid)
    assert f"/children/{cpid}/change/name" in record
    assert "/change/address" not in record and "/change/nhs_number" not in record
    for field in ("uln", "carers", "education", "gp"):  # whereabouts, identifiers and contacts: withheld
        assert f"/change/{field}" not in record
        assert one.get(f"/children/{cpid}/change/{field}").status_code == 404
    assert one.get(f"/children/{cpid}/change/address").status_code == 404
    page = one.post(f"/children/{cpid}/change/address", {"address_line_1": "1 New Road", "postcode": "NW1 9SL",
                                                         "reason": "Moved."})
    assert page.status_code == 404 and not Amendment.objects.exists()


def test_the_setting_the_gp_the_carers_and_the_uln_have_change_links_and_forms(team):
    dm1, dm2, _ = team
    cpid = _child()
    one = _client(dm1)
    record = _record(one, cpid)
    for field in ("uln", "carers", "education", "gp"):
        assert f"/children/{cpid}/change/{field}" in record
    form = one.get(f"/children/{cpid}/change/carers").content.decode()
    assert 'value="Sarah Hartley"' in form and "parental responsibility" in form
    for field in ("education", "gp", "uln"):  # none recorded by the GP's row: empty forms
        assert one.get(f"/children/{cpid}/change/{field}").status_code == 200
    response = one.post(f"/children/{cpid}/change/education", {
        "setting_urn": "100002", "setting_name": "Camden School", "setting_start_date-day": "3",
        "setting_start_date-month": "9", "setting_start_date-year": "2025", "reason": "Enrolled; the school said."})
    assert response.status_code == 302
    assert "Camden School (URN 100002), since 3 September 2025" in one.get(response["Location"]).content.decode()
    record = _record(one, cpid)
    assert "Camden School" in record and "Changed by Dm One, Camden local authority, on" in record
    response = one.post(f"/children/{cpid}/change/gp", {"gp_practice_code": "F83010",
                                                        "gp_practice_name": "Kentish Town Practice",
                                                        "reason": "Registered there now."})
    assert response.status_code == 302 and "Kentish Town Practice" in _record(one, cpid)
    form = one.get(f"/children/{cpid}/change/education").content.decode()
    assert 'value="100002"' in form and 'value="2025"' in form  # starts from the value the record holds
    born = one.get(f"/children/{cpid}/change/date_of_birth").content.decode()  # dates too (failed before)
    assert 'name="date_of_birth-day" type="text" value="20"' in born and 'value="2012"' in born
    response = one.post(f"/children/{cpid}/change/carers", {
        "carer_1_name": "Sarah Hartley", "carer_1_relationship": "mother", "carer_1_parental_responsibility": "yes",
        "carer_2_name": "Tom Hartley", "carer_2_relationship": "father", "carer_2_parental_responsibility": "no",
        "reason": "Father's details from the mother."})
    assert response.status_code == 302 and "Tom Hartley" in _record(one, cpid)
    response = one.post(f"/children/{cpid}/change/uln", {"uln": "1234567899", "reason": "From the college."})
    assert response.status_code == 302 and "Awaiting approval" in one.get(response["Location"]).content.decode()
    assert "1234567899" not in _record(one, cpid)  # not until a second data manager approves
    key = Amendment.objects.get(field="uln").key
    assert _client(dm2).post(f"/record-changes/{key}", {"decision": "approve"}).status_code == 302
    assert "1234567899" in _record(one, cpid)
