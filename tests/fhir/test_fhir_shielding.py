"""Shielding through FHIR: a shielded Patient is labelled restricted and carries only the visible fields; a
search by hidden fields is the same Bundle as a search that found nobody."""

from __future__ import annotations

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.patient import Patient

from contactpoint.children.record import EducationSetting
from contactpoint.fhir import systems
from tests.factories import make_record
from tests.search.test_service import add

pytestmark = pytest.mark.django_db

HIDDEN = ("NW1 8NP", "NW1", "Agar Grove", "London", "9434765919", "Camden Health Centre", "F83004", "07700 900123",
          "gp-registrations", "T202123415001", "Primary", systems.NHS_NUMBER, systems.WHEREABOUTS)
VISIBLE_ELEMENTS = {"resourceType", "id", "meta", "identifier", "name", "gender", "birthDate", "contact"}
RESTRICTED = (systems.CONFIDENTIALITY, "R")


@pytest.fixture
def shielded(generous_limits):
    [cpid] = add(make_record(upn="T202123415001", education=EducationSetting("100001", "Agar Grove Primary")),
                 shielded=True)
    return cpid


def _search(client, auth, **params):
    response = client.get("/fhir/Patient", {"_reason": "child_protection", **params}, **auth)
    return response.status_code, response.content


def _nothing_hidden(content: bytes) -> None:
    for value in HIDDEN:
        assert value not in content.decode(), value


def test_a_shielded_patient_found_by_visible_fields_is_restricted_and_shows_only_them(client, auth, shielded):
    status, content = _search(client, auth, family="Hartley", birthdate="2015-06-03")
    assert status == 200
    [entry] = Bundle.model_validate_json(content).entry
    patient = entry.resource
    assert patient.id == shielded
    assert [(s.system, s.code) for s in patient.meta.security] == [RESTRICTED]
    assert patient.address is None and [i.system for i in patient.identifier] == [systems.CONTACTPOINT_ID]
    _nothing_hidden(content)


@pytest.mark.parametrize("hidden,unknown", [
    ({"identifier": f"{systems.NHS_NUMBER}|9434765919"}, {"identifier": f"{systems.NHS_NUMBER}|4010232137"}),
    ({"identifier": "9434765919"}, {"identifier": "4010232137"}),
    ({"identifier": f"{systems.UPN}|T202123415001"}, {"identifier": f"{systems.UPN}|G202123415002"}),
    ({"given": "Amelia", "birthdate": "2015-06-03", "gender": "female", "address-postalcode": "NW1 8NP"},
     {"given": "Amelia", "birthdate": "2015-06-03", "gender": "female", "address-postalcode": "SE1 7PB"}),
])
def test_a_search_by_hidden_fields_is_the_same_bundle_as_finding_nobody(client, auth, shielded, hidden, unknown):
    found = _search(client, auth, **hidden)
    assert found == _search(client, auth, **unknown)
    assert found[0] == 200 and Bundle.model_validate_json(found[1]).total == 0


def test_reading_a_shielded_patient_gives_only_the_visible_fields(client, auth, shielded):
    response = client.get(f"/fhir/Patient/{shielded}", {"_reason": "child_protection"}, **auth)
    assert response.status_code == 200
    patient = Patient.model_validate(response.json())
    assert set(response.json()) == VISIBLE_ELEMENTS
    assert [(s.system, s.code) for s in patient.meta.security] == [RESTRICTED]
    assert patient.name[0].family == "Hartley" and patient.gender == "female"
    [contact] = patient.contact
    assert contact.name.text == "Sarah Hartley" and contact.telecom is None
    _nothing_hidden(response.content)


def test_a_shielded_child_never_adds_to_the_total_or_makes_a_search_too_costly(client, auth, monkeypatch):
    import dataclasses

    from contactpoint.config import SearchSettings, get_settings

    monkeypatch.setattr("contactpoint.config._settings", dataclasses.replace(
        get_settings(), search=SearchSettings(result_cap=2, searches_per_minute=1000)))
    add(make_record(family="Okafor", nhs=None), make_record(family="Mensah", nhs=None))
    add(make_record(family="Hartley", nhs=None), shielded=True)
    status, content = _search(client, auth, given="Amelia", birthdate="2015-06-03", gender="female",
                              **{"address-postalcode": "NW1 8NP"})
    assert status == 200
    found = Bundle.model_validate_json(content)
    assert found.total == 2 and sorted(e.resource.name[0].family for e in found.entry) == ["Mensah", "Okafor"]
