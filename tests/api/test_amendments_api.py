"""A data manager corrects or completes a record through the JSON API (issue 19): the same rules as the pages."""

from __future__ import annotations

import pytest
from django.test import Client

from contactpoint.children.models import Child
from contactpoint.children.store import load_record
from contactpoint.vault.keyring import get_keyring
from tests.api.clients import bearer, open_token
from tests.factories import make_person
from tests.lifecycle.support import feed, row, send, source

pytestmark = pytest.mark.django_db


def _child() -> Child:
    send(source("gp-test", "gp_registrations"), feed(**{"GP-1": row()}))
    return Child.objects.get()


def _post(client: Client, token: str, url: str, body: dict):
    return client.post(url, body, content_type="application/json", **bearer(token))


def test_a_data_manager_changes_a_value_and_a_second_approves_an_identifier(client):
    one, two = make_person("dm.one", role="data-manager"), make_person("dm.two", role="data-manager")
    child = _child()
    t1, t2 = open_token(client, one), open_token(Client(), two)
    url = f"/api/v1/children/{child.cpid}/amendments"
    done = _post(client, t1, url, {"field": "gender", "values": {"gender": "male"}, "reason": "Typo."})
    assert done.status_code == 201 and done.json()["status"] == "active"
    assert load_record(get_keyring(), Child.objects.get()).gender.value == "male"
    bad = _post(client, t1, url, {"field": "nhs_number", "values": {"nhs_number": "9434765918"}, "reason": "x"})
    assert bad.status_code == 422 and bad.json()["field"] == "nhs_number"
    proposed = _post(client, t1, url, {"field": "nhs_number", "values": {"nhs_number": "9434765870"},
                                       "reason": "A sibling's number."}).json()
    assert proposed["status"] == "proposed"
    own = _post(client, t1, f"/api/v1/amendments/{proposed['reference']}/decision", {"approve": True})
    assert own.status_code == 409 and "second data manager" in own.json()["detail"]
    approved = _post(Client(), t2, f"/api/v1/amendments/{proposed['reference']}/decision", {"approve": True})
    assert approved.status_code == 200 and approved.json()["status"] == "active"
    assert load_record(get_keyring(), Child.objects.get()).nhs_number.value == "9434765870"
    withdrawn = _post(client, t1, f"/api/v1/amendments/{done.json()['reference']}/withdraw", {})
    assert withdrawn.json()["status"] == "withdrawn"
    assert load_record(get_keyring(), Child.objects.get()).gender.value == "female"


def test_a_practitioner_and_another_authoritys_data_manager_are_refused(client):
    child = _child()
    body = {"field": "gender", "values": {"gender": "male"}, "reason": "Typo."}
    url = f"/api/v1/children/{child.cpid}/amendments"
    assert _post(client, open_token(client, make_person()), url, body).status_code == 403
    other = make_person("ola.other", role="data-manager", org="LA-203")
    assert _post(Client(), open_token(Client(), other), url, body).status_code == 404


def test_the_api_takes_the_uln_the_carers_the_setting_and_the_gp(client):
    one, two = make_person("dm.one", role="data-manager"), make_person("dm.two", role="data-manager")
    child = _child()
    t1, t2 = open_token(client, one), open_token(Client(), two)
    url = f"/api/v1/children/{child.cpid}/amendments"
    for field, values in [("education", {"setting_urn": "100002", "setting_name": "Camden School",
                                         "setting_start_date": "2025-09-03"}),
                          ("gp", {"gp_practice_code": "F83010", "gp_practice_name": "Kentish Town Practice"}),
                          ("carers", {"carer_1_name": "Sarah Hartley", "carer_1_relationship": "mother",
                                      "carer_1_parental_responsibility": "yes"})]:
        done = _post(client, t1, url, {"field": field, "values": values, "reason": "Confirmed."})
        assert done.status_code == 201 and done.json()["status"] == "active", field
    bad = _post(client, t1, url, {"field": "uln", "values": {"uln": "1234567890"}, "reason": "x"})
    assert bad.status_code == 422 and bad.json()["field"] == "uln"
    proposed = _post(client, t1, url, {"field": "uln", "values": {"uln": "1234567899"}, "reason": "College."}).json()
    assert proposed["status"] == "proposed"
    assert _post(Client(), t2, f"/api/v1/amendments/{proposed['reference']}/decision",
                 {"approve": True}).json()["status"] == "active"
    record = load_record(get_keyring(), Child.objects.get())
    assert (record.education.value.urn, record.gp.value.code, record.uln.value) == ("100002", "F83010", "1234567899")
