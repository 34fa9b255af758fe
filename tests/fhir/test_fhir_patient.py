"""FHIR R4 under /fhir/: Patient search and read, metadata, OperationOutcome errors. Every response is checked
against the FHIR R4B models of ``fhir.resources`` (which do not check code bindings: those are checked here)."""

from __future__ import annotations

import dataclasses

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.patient import Patient

from contactpoint.audit.models import AuditEntry
from contactpoint.config import SearchSettings, get_settings
from contactpoint.fhir import systems
from tests.api.clients import bearer, make_source, open_token
from tests.factories import make_person, make_record
from tests.search.test_service import add

pytestmark = pytest.mark.django_db

FHIR_JSON = "application/fhir+json"
NHS = f"{systems.NHS_NUMBER}|9434765919"
ISSUE_TYPES = {"required", "too-costly", "throttled", "invalid", "not-found", "not-supported", "forbidden", "login",
               "exception", "processing"}


def fhir_get(client, path, auth=None, **params):
    response = client.get(path, params, **(auth or {}))
    assert response["Content-Type"].startswith(FHIR_JSON), response["Content-Type"]
    return response


def bundle(response) -> Bundle:
    assert response.status_code == 200, response.content
    parsed = Bundle.model_validate(response.json())
    assert parsed.type == "searchset"
    for entry in parsed.entry or []:
        _patient_codes(entry.resource)
    return parsed


def _patient_codes(patient: Patient) -> None:
    assert patient.gender in ("male", "female", "other", "unknown")
    for name in patient.name or []:
        assert name.use in ("official", "old", "usual")


def outcome(response, status: int, code: str) -> OperationOutcome:
    assert response.status_code == status, response.content
    parsed = OperationOutcome.model_validate(response.json())
    [issue] = parsed.issue
    assert issue.severity in ("error", "fatal") and issue.code in ISSUE_TYPES
    assert issue.details.coding[0].system == systems.REFUSAL and issue.details.coding[0].code == code
    return parsed


@pytest.fixture
def amelia():
    [cpid] = add(make_record())
    return cpid


def test_metadata_is_a_capability_statement_anyone_can_read(client):
    response = fhir_get(client, "/fhir/metadata")
    assert response.status_code == 200
    statement = CapabilityStatement.model_validate(response.json())
    [rest] = statement.rest
    [resource] = rest.resource
    assert resource.type == "Patient" and {i.code for i in resource.interaction} == {"read", "search-type"}
    assert {p.name for p in resource.searchParam} >= {"family", "birthdate", "identifier", "_reason"}


def test_search_by_nhs_number_gives_a_searchset_bundle_with_scores(client, auth, amelia):
    found = bundle(fhir_get(client, "/fhir/Patient", auth, identifier=NHS, _reason="health"))
    assert found.total == 1
    [entry] = found.entry
    assert entry.search.mode == "match" and 0 < float(entry.search.score) <= 1
    assert entry.fullUrl.endswith(f"/fhir/Patient/{amelia}")
    patient = entry.resource
    assert patient.id == amelia and patient.gender == "female" and str(patient.birthDate) == "2015-06-03"
    assert patient.name[0].family == "Hartley" and patient.name[0].given == ["Amelia"]
    assert patient.identifier[0].system == systems.CONTACTPOINT_ID and patient.identifier[0].value == amelia
    assert patient.address[0].postalCode == "NW1 8NP"
    assert patient.meta.security is None and patient.meta.profile == [systems.UK_CORE_PATIENT]


def test_search_by_name_date_and_gender_with_fhir_parameter_names(client, auth, amelia):
    found = bundle(fhir_get(client, "/fhir/Patient", auth, family="Hartley", given="Amelia",
                            birthdate="eq2015-06-03", gender="female", _reason="education"))
    assert [e.resource.id for e in found.entry] == [amelia]
    nobody = bundle(fhir_get(client, "/fhir/Patient", auth, family="Nobody", birthdate="2015-06-03",
                             _reason="education"))
    assert nobody.total == 0 and not nobody.entry


def test_a_search_is_audited_with_its_reason_and_the_ids_returned(client, auth, amelia, practitioner):
    bundle(fhir_get(client, "/fhir/Patient", auth, identifier=NHS, _reason="referral"))
    entry = AuditEntry.objects.get(action="child.search", actor=practitioner.user.username)
    assert entry.subjects == [amelia] and entry.reason == "referral"


def test_read_gives_the_uk_core_patient_and_is_audited(client, auth, amelia, practitioner):
    response = fhir_get(client, f"/fhir/Patient/{amelia}", auth, _reason="health")
    assert response.status_code == 200
    patient = Patient.model_validate(response.json())
    _patient_codes(patient)
    assert {(i.system, i.value) for i in patient.identifier} == {(systems.CONTACTPOINT_ID, amelia),
                                                                (systems.NHS_NUMBER, "9434765919")}
    assert patient.address[0].postalCode == "NW1 8NP" and patient.address[0].use == "home"
    assert patient.contact[0].name.text == "Sarah Hartley" and patient.contact[0].telecom[0].value == "07700 900123"
    gp = patient.generalPractitioner[0]
    assert gp.identifier.system == systems.ODS_ORGANISATION and gp.identifier.value == "F83004"
    entry = AuditEntry.objects.get(action="child.record.viewed", actor=practitioner.user.username)
    assert entry.subjects == [amelia] and entry.reason == "health"


def test_read_and_search_need_a_reason(client, auth, amelia):
    for response in (fhir_get(client, f"/fhir/Patient/{amelia}", auth),
                     fhir_get(client, "/fhir/Patient", auth, identifier=NHS),
                     fhir_get(client, "/fhir/Patient", auth, identifier=NHS, _reason="gossip")):
        parsed = outcome(response, 422, "invalid")
        assert parsed.issue[0].expression == ["_reason"]
    assert "Amelia" not in response.content.decode()
    assert not AuditEntry.objects.filter(action__in=["child.search", "child.record.viewed"]).exists()


def test_too_little_detail_is_an_operation_outcome_saying_what_to_add(client, auth, amelia):
    parsed = outcome(fhir_get(client, "/fhir/Patient", auth, family="Hartley", _reason="health"), 422,
                     "insufficient_criteria")
    assert parsed.issue[0].code == "required" and parsed.issue[0].details.text.startswith("Add the date of birth")


def test_too_many_matches_is_too_costly_with_no_count(client, auth, monkeypatch):
    monkeypatch.setattr("contactpoint.config._settings", dataclasses.replace(
        get_settings(), search=SearchSettings(result_cap=1)))
    add(make_record(given="Amelia", nhs=None), make_record(given="Beth", nhs=None))
    response = fhir_get(client, "/fhir/Patient", auth, family="Hartley", birthdate="2015-06-03", _reason="health")
    parsed = outcome(response, 422, "too_many_matches")
    assert parsed.issue[0].code == "too-costly" and "total" not in response.json()


def test_the_rate_limit_is_a_429_operation_outcome(client, auth, amelia, monkeypatch):
    monkeypatch.setattr("contactpoint.config._settings", dataclasses.replace(
        get_settings(), search=SearchSettings(searches_per_minute=1)))
    bundle(fhir_get(client, "/fhir/Patient", auth, identifier=NHS, _reason="health"))
    parsed = outcome(fhir_get(client, "/fhir/Patient", auth, identifier=NHS, _reason="health"), 429,
                     "rate_limited")
    assert parsed.issue[0].code == "throttled"


@pytest.mark.parametrize("params,expression", [
    ({"birthdate": "ge2015-01-01", "family": "Hartley"}, "birthdate"),
    ({"birthdate": "2015", "family": "Hartley"}, "birthdate"),
    ({"gender": "girl", "family": "Hartley", "birthdate": "2015-06-03"}, "gender"),
    ({"identifier": "http://example.org/mrn|123"}, "identifier"),
    ({"identifier": "123"}, "identifier"),
    ({"address-postalcode": "not a postcode", "given": "Amelia", "birthdate": "2015-06-03", "gender": "female"},
     "address-postalcode"),
])
def test_a_bad_parameter_is_an_operation_outcome_naming_it(client, auth, params, expression):
    parsed = outcome(fhir_get(client, "/fhir/Patient", auth, _reason="health", **params), 422, "invalid")
    assert parsed.issue[0].expression == [expression]


def test_unknown_mistyped_and_archived_patients_are_the_same_404(client, auth, amelia):
    from contactpoint.children.models import Child, ChildStatus

    Child.objects.filter(cpid=amelia).update(status=ChildStatus.ARCHIVED)
    answers = [fhir_get(client, f"/fhir/Patient/{cpid}", auth, _reason="health")
               for cpid in (amelia, "100000000012", "not-an-id")]
    for response in answers:
        outcome(response, 404, "not_found")
    assert len({r.content for r in answers}) == 1
    from contactpoint.audit.models import AuditEntry

    assert AuditEntry.objects.filter(action="child.record.not_found").count() == 3  # the mistyped one too


def test_authentication_and_permission_errors_are_operation_outcomes(client, amelia):
    parsed = outcome(fhir_get(client, "/fhir/Patient", identifier=NHS, _reason="health"), 401,
                     "authentication_failed")
    assert parsed.issue[0].code == "login"
    outcome(fhir_get(client, "/fhir/Patient", bearer("cps_not-a-real-token"), identifier=NHS, _reason="health"),
            401, "session_ended")
    _, key = make_source()
    outcome(fhir_get(client, f"/fhir/Patient/{amelia}", bearer(key), _reason="health"), 403, "permission_denied")
    operator = make_person("olly.operator", role="operator", org="CP-NATIONAL")
    outcome(fhir_get(client, "/fhir/Patient", bearer(open_token(client, operator)), identifier=NHS,
                     _reason="health"), 403, "permission_denied")


def test_a_lapsed_condition_of_access_is_a_403_operation_outcome_saying_what_to_do(client, auth, practitioner):
    from django.utils import timezone

    from contactpoint.access.models import User

    User.objects.filter(pk=practitioner.user.pk).update(suspended_at=timezone.now())
    parsed = outcome(fhir_get(client, "/fhir/Patient", auth, identifier=NHS, _reason="health"), 403,
                     "precondition_failed")
    assert parsed.issue[0].code == "forbidden" and parsed.issue[0].diagnostics


def test_unknown_addresses_and_methods_are_operation_outcomes(client, auth):
    outcome(fhir_get(client, "/fhir/Observation", auth), 404, "not_found")
    outcome(fhir_get(client, "/fhir/", auth), 404, "not_found")
    response = client.post("/fhir/Patient", {}, content_type=FHIR_JSON, **auth)
    assert response["Content-Type"].startswith(FHIR_JSON)
    outcome(response, 405, "method_not_allowed")
    assert response["Allow"] == "GET"
