"""Every answer under /api/ is JSON, with a precise status: never an HTML page, never a stack trace."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/api/", "/api/v2/children", "/api/v1/nothing-here",
                                  "/api/v1/children/extra/part"])
def test_an_unknown_address_is_a_json_404(client, path):
    response = client.get(path)
    assert response.status_code == 404 and response["Content-Type"].startswith("application/json")
    assert response.json()["code"] == "not_found"


def test_a_method_an_address_does_not_take_is_a_json_405(client):
    response = client.put("/api/v1/children")
    assert response.status_code == 405 and response.json()["code"] == "method_not_allowed"
    assert response["Allow"] == "GET"


def test_an_unexpected_failure_is_a_plain_json_500_that_says_nothing_more(client, auth, monkeypatch):
    def explode(*args, **kwargs):
        raise RuntimeError("Amelia Hartley 2015-06-03")  # an exception message may hold anything

    monkeypatch.setattr("contactpoint.api.children.search", explode)
    response = client.get("/api/v1/children", {"family": "Hartley", "birthdate": "2015-06-03",
                                               "reason": "health"}, **auth)
    assert response.status_code == 500 and response.json()["code"] == "server_error"
    assert "Amelia" not in response.content.decode() and "Traceback" not in response.content.decode()


def test_the_openapi_document_is_public_and_lists_every_operation_with_its_security(client):
    schema = client.get("/api/v1/openapi.json").json()
    operations = {(m.upper(), p): op for p, item in schema["paths"].items() for m, op in item.items()}
    assert set(operations) == {("POST", "/api/v1/session"), ("DELETE", "/api/v1/session"),
                               ("GET", "/api/v1/children"), ("GET", "/api/v1/children/{contactpoint_id}"),
                               ("POST", "/api/v1/feeds/{source}"), ("GET", "/api/v1/feeds/{source}/jobs/{job}"),
                               ("GET", "/api/v1/feeds/{source}/discrepancies"),
                               ("POST", "/api/v1/feeds/{source}/discrepancies/{item}/acknowledge"),
                               ("POST", "/api/v1/feeds/{source}/discrepancies/{item}/dispute"),
                               ("POST", "/api/v1/children/{contactpoint_id}/amendments"),
                               ("POST", "/api/v1/amendments/{reference}/decision"),
                               ("POST", "/api/v1/amendments/{reference}/withdraw"),
                               ("POST", "/api/v1/records"),
                               ("GET", "/api/v1/missing-education")}
    assert "security" not in operations[("POST", "/api/v1/session")]
    assert operations[("GET", "/api/v1/children")]["security"] == [{"PractitionerToken": []}]
    assert operations[("POST", "/api/v1/feeds/{source}")]["security"] == [{"SourceKey": []}]
    assert operations[("POST", "/api/v1/feeds/{source}/discrepancies/{item}/dispute")]["security"] == [
        {"SourceKey": []}]


def test_the_docs_page_is_public_holds_no_data_and_loads_nothing_from_elsewhere(client):
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    page = response.content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in page and "cdn" not in page.lower()
    assert "script-src 'self'" in response["Content-Security-Policy"]


def test_if_the_audit_entry_cannot_be_written_no_child_data_leaves(client, auth, monkeypatch):
    from contactpoint.errors import AuditError
    from tests.factories import make_record
    from tests.search.test_service import add

    [cpid] = add(make_record())

    def broken(*args, **kwargs):
        raise AuditError("the audit trail could not be written")

    monkeypatch.setattr("contactpoint.records.view.record_event", broken)
    response = client.get(f"/api/v1/children/{cpid}", {"reason": "health"}, **auth)
    assert response.status_code == 500 and response.json()["code"] == "server_error"
    assert "Amelia" not in response.content.decode()


def test_answers_with_child_data_are_never_stored_by_browsers_or_proxies(client, auth):
    from tests.factories import make_record
    from tests.search.test_service import add

    [cpid] = add(make_record())
    for path in (f"/api/v1/children/{cpid}", f"/fhir/Patient/{cpid}"):
        response = client.get(path, {"reason": "health", "_reason": "health"}, **auth)
        assert response.status_code == 200 and response["Cache-Control"] == "no-store", path
