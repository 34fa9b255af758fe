"""Shielding through the JSON API (DESIGN.md "Shielding"): a shielded child shows only name, gender, date of
birth, ContactPoint ID and parent names; is found only through those fields; and a search by its hidden fields
answers exactly as a search that found nobody: same status, same body, same counts."""

from __future__ import annotations

import dataclasses
import json

import pytest

from contactpoint.audit.models import AuditEntry
from contactpoint.children.record import EducationSetting, Gender
from contactpoint.config import SearchSettings, get_settings
from tests.factories import make_record
from tests.search.test_service import add

pytestmark = pytest.mark.django_db

HIDDEN = ("NW1 8NP", "NW1", "Agar Grove", "London", "9434765919", "Camden Health Centre", "F83004", "07700 900123",
          "gp-registrations", "GP-000123", "feed-1", "T202123415001", "Primary")
SHIELDED_KEYS = {"contactpoint_id", "shielded", "notice", "responsible_local_authority", "last_updated", "name",
                 "former_names", "gender", "date_of_birth", "parents_and_carers"}
UPN, OTHER_UPN = "T202123415001", "G202123415002"  # valid check letters


@pytest.fixture
def shielded(generous_limits):
    [cpid] = add(make_record(upn=UPN, education=EducationSetting("100001", "Agar Grove Primary")), shielded=True)
    return cpid


def search(client, auth, **params):
    response = client.get("/api/v1/children", {"reason": "child_protection", **params}, **auth)
    return response.status_code, response.content


def nothing_found(client, auth, **params):
    return search(client, auth, **params)


def _assert_nothing_hidden(content: bytes):
    text = content.decode()
    for value in HIDDEN:
        assert value not in text, value


def test_a_shielded_child_found_by_visible_fields_shows_only_them(client, auth, shielded):
    status, content = search(client, auth, family="Hartley", birthdate="2015-06-03")
    assert status == 200
    [hit] = json.loads(content)["results"]
    assert hit["contactpoint_id"] == shielded and hit["shielded"] is True
    assert "postcode" not in hit and "town" not in hit
    _assert_nothing_hidden(content)


@pytest.mark.parametrize("hidden,unknown", [
    ({"nhs_number": "9434765919"}, {"nhs_number": "4010232137"}),
    ({"given": "Amelia", "birthdate": "2015-06-03", "gender": "female", "postcode": "NW1 8NP"},
     {"given": "Amelia", "birthdate": "2015-06-03", "gender": "female", "postcode": "SE1 7PB"}),
])
def test_searching_by_hidden_fields_answers_exactly_as_finding_nobody(client, auth, shielded, hidden, unknown):
    found = search(client, auth, **hidden)
    assert found == nothing_found(client, auth, **unknown) == (200, b'{"results": []}')
    subjects = [e.subjects for e in AuditEntry.objects.filter(action="child.search")]
    assert all(shielded not in s for s in subjects)


def test_searching_by_the_hidden_upn_answers_as_finding_nobody(client, auth, shielded):
    assert search(client, auth, upn=UPN) == search(client, auth, upn=OTHER_UPN) == (200, b'{"results": []}')


@pytest.mark.parametrize("params", [{"nhs_number": "9434765919"}, {"upn": UPN},
                                    {"given": "Amelia", "birthdate": "2015-06-03", "gender": "female",
                                     "postcode": "NW1 8NP"}])
def test_the_same_searches_find_the_child_when_not_shielded(client, auth, generous_limits, params):
    [cpid] = add(make_record(upn=UPN))
    status, content = search(client, auth, **params)
    assert status == 200 and [h["contactpoint_id"] for h in json.loads(content)["results"]] == [cpid]


def test_a_shielded_child_never_adds_to_a_count_or_turns_a_list_into_too_many(client, auth, monkeypatch):
    monkeypatch.setattr("contactpoint.config._settings", dataclasses.replace(
        get_settings(), search=SearchSettings(result_cap=2, searches_per_minute=1000)))
    add(make_record(family="Okafor", nhs=None), make_record(family="Mensah", nhs=None))
    add(make_record(family="Hartley", nhs=None), shielded=True)
    criteria = {"given": "Amelia", "birthdate": "2015-06-03", "gender": "female", "postcode": "NW1 8NP"}
    status, content = search(client, auth, **criteria)
    assert status == 200
    assert sorted(h["family"] for h in json.loads(content)["results"]) == ["Mensah", "Okafor"]


def test_a_shielded_record_has_only_the_visible_fields(client, auth, shielded, practitioner):
    response = client.get(f"/api/v1/children/{shielded}", {"reason": "child_protection"}, **auth)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == SHIELDED_KEYS
    assert body["shielded"] is True and "shielded" in body["notice"]
    assert body["name"]["given"] == "Amelia" and body["gender"]["value"] == "female"
    assert body["date_of_birth"]["value"] == "2015-06-03"
    [carer] = body["parents_and_carers"]
    assert carer["name"] == "Sarah Hartley" and "phone" not in carer and "email" not in carer
    assert body["name"]["provenance"]["source"] == "withheld"
    _assert_nothing_hidden(response.content)
    entry = AuditEntry.objects.get(action="child.record.viewed", actor=practitioner.user.username)
    assert entry.context["shielded"] is True


def test_gender_and_name_are_visible_so_they_can_find_a_shielded_child(client, auth, shielded):
    status, content = search(client, auth, given="Amelia", family="Hartley", birthdate="2015-06-03",
                             gender=Gender.FEMALE.value)
    assert status == 200 and [h["contactpoint_id"] for h in json.loads(content)["results"]] == [shielded]
