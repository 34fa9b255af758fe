"""GET /api/v1/children and GET /api/v1/children/{contactpoint_id}: the same policy, reasons, shielding and audit
as the web pages, as JSON."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest
from django.utils import timezone

from contactpoint.audit.models import AuditEntry
from contactpoint.children.models import Child, ChildStatus
from contactpoint.children.record import Involvement, SensitiveCategory
from contactpoint.config import SearchSettings, get_settings
from tests.api.clients import bearer, make_source, open_token
from tests.factories import make_person, make_record
from tests.search.test_service import add

pytestmark = pytest.mark.django_db

FOUND_BY = {"family": "Hartley", "birthdate": "2015-06-03", "reason": "child_protection"}
NOT_AN_NHS_NUMBER = "94347659"
UNKNOWN_NHS = "4010232137"


def children(client, auth, **params):
    return client.get("/api/v1/children", params, **auth)


def record(client, auth, cpid, **params):
    return client.get(f"/api/v1/children/{cpid}", {"reason": "child_protection", **params}, **auth)


@pytest.fixture
def amelia():
    [cpid] = add(make_record())
    return cpid


def test_without_a_token_nothing_is_searched_and_the_answer_says_how_to_authenticate(client, amelia):
    response = client.get("/api/v1/children", FOUND_BY)
    assert response.status_code == 401 and response.json()["code"] == "authentication_failed"
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert "Amelia" not in response.content.decode()
    assert not AuditEntry.objects.filter(action="child.search").exists()


def test_a_search_finds_the_child_and_is_audited_with_its_reason(client, auth, amelia, practitioner):
    response = children(client, auth, **FOUND_BY)
    assert response.status_code == 200
    [hit] = response.json()["results"]
    assert hit["contactpoint_id"] == amelia and hit["given"] == "Amelia" and hit["family"] == "Hartley"
    assert hit["birthdate"] == "2015-06-03" and hit["gender"] == "female" and hit["postcode"] == "NW1 8NP"
    assert hit["shielded"] is False and 0 < hit["score"] <= 1
    entry = AuditEntry.objects.get(action="child.search", actor=practitioner.user.username)
    assert entry.subjects == [amelia] and entry.reason == "child_protection"


def test_too_little_detail_is_a_422_saying_what_to_add(client, auth, amelia):
    response = children(client, auth, family="Hartley", reason="education")
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "insufficient_criteria" and body["detail"].startswith("Add the date of birth")
    assert "results" not in body


def test_a_short_wildcard_is_refused(client, auth):
    response = children(client, auth, family="H*", birthdate="2015-06-03", reason="education")
    assert response.status_code == 422 and response.json()["code"] == "insufficient_criteria"
    assert "at least 2 letters" in response.json()["detail"]


@pytest.mark.parametrize("params,field", [
    ({"reason": ""}, "reason"),
    ({"reason": "curiosity"}, "reason"),
    ({"reason": "other", "reason_text": "short"}, "reason_text"),
])
def test_a_search_needs_a_reason_from_the_list(client, auth, amelia, params, field):
    response = children(client, auth, family="Hartley", birthdate="2015-06-03", **params)
    assert response.status_code == 422
    assert response.json()["code"] == "invalid" and response.json()["field"] == field


def test_other_with_enough_words_is_a_reason(client, auth, amelia):
    response = children(client, auth, family="Hartley", birthdate="2015-06-03", reason="other",
                        reason_text="Checking a referral from a neighbour")
    assert response.status_code == 200 and len(response.json()["results"]) == 1


@pytest.mark.parametrize("params,field", [
    ({"birthdate": "3 June 2015"}, "birthdate"),
    ({"nhs_number": NOT_AN_NHS_NUMBER}, "nhs_number"),
    ({"gender": "boy"}, "gender"),
    ({"family": "x" * 121}, "family"),
])
def test_a_bad_value_is_a_422_naming_the_field_without_repeating_it(client, auth, params, field):
    response = children(client, auth, **{"reason": "health", "family": "Hartley", **params})
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "invalid" and body["field"] == field
    for value in params.values():
        assert value not in response.content.decode()


def test_more_matches_than_the_cap_is_a_422_with_no_list_and_no_count(client, auth, monkeypatch):
    monkeypatch.setattr("contactpoint.config._settings", dataclasses.replace(
        get_settings(), search=SearchSettings(result_cap=2)))
    add(*(make_record(given=g, nhs=None) for g in ("Amelia", "Beth", "Cara")))
    response = children(client, auth, **FOUND_BY)
    assert response.status_code == 422
    body = response.json()
    assert body == {"code": "too_many_matches", "detail": body["detail"]} and "add" in body["detail"].lower()
    assert "3" not in body["detail"]


def test_exceeding_the_rate_limit_is_a_429_and_an_alert(client, auth, amelia, practitioner, monkeypatch):
    monkeypatch.setattr("contactpoint.config._settings", dataclasses.replace(
        get_settings(), search=SearchSettings(searches_per_minute=2)))
    assert children(client, auth, **FOUND_BY).status_code == 200
    assert children(client, auth, **FOUND_BY).status_code == 200
    response = children(client, auth, **FOUND_BY)
    assert response.status_code == 429 and response.json()["code"] == "rate_limited"
    assert AuditEntry.objects.filter(action="child.search.rate_limited", severity="alert",
                                     actor=practitioner.user.username).exists()


def test_the_record_shows_every_value_with_its_provenance_and_is_audited(client, auth, amelia, practitioner):
    response = record(client, auth, amelia)
    assert response.status_code == 200
    body = response.json()
    assert body["contactpoint_id"] == amelia and body["shielded"] is False
    assert body["name"]["given"] == "Amelia"
    assert body["name"]["provenance"] == {"source": "gp-registrations", "feed": "feed-1", "received": "2026-11-01"}
    assert body["nhs_number"]["value"] == "9434765919"
    assert body["whereabouts"]["address"]["postcode"] == "NW1 8NP"
    assert body["gp_practice"]["name"] == "Camden Health Centre"
    assert body["parents_and_carers"][0]["phone"] == "07700 900123"
    assert body["last_updated"] == "2026-11-01"
    entry = AuditEntry.objects.get(action="child.record.viewed", actor=practitioner.user.username)
    assert entry.subjects == [amelia] and entry.reason == "child_protection"


def test_opening_a_record_needs_a_reason(client, auth, amelia):
    response = client.get(f"/api/v1/children/{amelia}", **auth)
    assert response.status_code == 422 and response.json()["field"] == "reason"
    assert "Amelia" not in response.content.decode()
    assert not AuditEntry.objects.filter(action="child.record.viewed").exists()


def test_unknown_mistyped_and_archived_records_are_the_same_404(client, auth, amelia):
    [archived] = add(make_record(given="Zoe", nhs=None))
    Child.objects.filter(cpid=archived).update(status=ChildStatus.ARCHIVED)
    unknown = "100000000012"
    answers = {what: record(client, auth, cpid) for what, cpid in
               {"unknown": unknown, "mistyped": amelia[:-1] + ("A" if amelia[-1] != "A" else "B"),
                "archived": archived, "nonsense": "not-an-id"}.items()}
    assert {(r.status_code, r.content) for r in answers.values()} == {(404, answers["unknown"].content)}
    assert answers["unknown"].json()["code"] == "not_found"
    # Each asked-for ID that led nowhere is in the audit trail, as an enumeration would be.
    from contactpoint.audit.models import AuditEntry
    from contactpoint.audit.trail import read_detail
    from contactpoint.vault.keyring import get_keyring

    asked = {read_detail(get_keyring(), e)["requested"]
             for e in AuditEntry.objects.filter(action="child.record.not_found")}
    assert {unknown, archived, "not-an-id"} <= asked and len(asked) == 4  # and the mistyped one


def test_a_sensitive_service_shows_only_that_a_service_is_involved(client, auth):
    [cpid] = add(make_record(involvements=(
        Involvement(key="s1", service="Sexual health clinic", practitioner_name="Dr Secret",
                    start_date=date(2025, 1, 1), sensitive=SensitiveCategory.SEXUAL_HEALTH),
        Involvement(key="i1", service="School nursing", practitioner_name="Nurse Open",
                    start_date=date(2025, 1, 1), lead_professional=True, caf_completed=True))))
    body = record(client, auth, cpid).json()
    assert body["sensitive_service_notice"] == ("A service is involved. Contact the local authority ContactPoint "
                                                "team.")
    [service] = body["services_involved"]
    assert service["practitioner_name"] == "Nurse Open" and service["lead_professional"] and service["caf_completed"]
    assert "Sexual" not in str(body) and "Dr Secret" not in str(body)


def test_a_role_without_the_permission_is_refused_and_audited(client, amelia):
    auditor = make_person("audrey.auditor", role="auditor")
    token = open_token(client, auditor)
    response = client.get("/api/v1/children", FOUND_BY, **bearer(token))
    assert response.status_code == 403 and response.json()["code"] == "permission_denied"
    assert AuditEntry.objects.filter(action="auth.access.refused", actor="audrey.auditor").exists()


def test_a_source_systems_key_can_never_search_or_open_a_record(client, amelia):
    source, key = make_source()
    for response in (client.get("/api/v1/children", FOUND_BY, **bearer(key)),
                     record(client, bearer(key), amelia)):
        assert response.status_code == 403 and response.json()["code"] == "permission_denied"
        assert "can never search" in response.json()["detail"]
    assert AuditEntry.objects.filter(action="auth.access.refused", actor=f"source:{source.code}").count() == 2
    assert not AuditEntry.objects.filter(action__in=["child.search", "child.record.viewed"]).exists()


def test_a_lapsed_condition_of_access_is_named_and_ends_the_session(client, auth, practitioner, amelia):
    from contactpoint.access.models import User

    User.objects.filter(pk=practitioner.user.pk).update(training_completed_on=None)
    response = children(client, auth, **FOUND_BY)
    assert response.status_code == 403
    body = response.json()
    assert body["code"] == "precondition_failed" and body["precondition"] == "training_completed"
    assert "training" in body["detail"] and body["action"]
    User.objects.filter(pk=practitioner.user.pk).update(training_completed_on=timezone.localdate())
    assert children(client, auth, **FOUND_BY).status_code == 401  # the session ended with the lapse


def test_a_reason_outside_the_users_role_is_refused_by_the_api(client):
    from tests.factories import vouched_org

    vouched_org()
    teacher = make_person("t.teacher", role="sch3-9", org="SCH-100001")
    auth = bearer(open_token(client, teacher))
    response = children(client, auth, family="Hartley", birthdate="2015-06-03", reason="health")
    assert response.status_code == 422 and "your role may not give this reason" in response.content.decode()
