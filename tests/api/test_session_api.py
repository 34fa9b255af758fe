"""POST /api/v1/session and DELETE /api/v1/session: a case-management system signs in as the practitioner."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from contactpoint.access.models import ApiSession
from contactpoint.audit.models import AuditEntry
from tests.api.clients import bearer, open_token

pytestmark = pytest.mark.django_db


def _post(client, **body):
    return client.post("/api/v1/session", body, content_type="application/json")


def _credentials(person, **changes):
    return {"username": person.user.username, "password": person.password, "pin": person.pin,
            "otp": person.code(), **changes}


def test_password_pin_and_security_code_open_a_session_with_a_bearer_token(client, practitioner):
    response = _post(client, **_credentials(practitioner))
    assert response.status_code == 201
    body = response.json()
    assert body["token"].startswith("cps_") and body["token_type"] == "bearer" and body["idle_minutes"] == 15
    stored = ApiSession.objects.get(user=practitioner.user)
    assert body["token"] not in stored.token_hash  # only a hash is kept
    assert AuditEntry.objects.filter(action="auth.api_session.issued", actor=practitioner.user.username).exists()


def test_every_bad_credential_gets_the_same_refusal(client, practitioner):
    bodies = {
        "unknown user": _credentials(practitioner, username="nobody.here"),
        "wrong password": _credentials(practitioner, password="not-the-password-at-all"),
        "wrong pin": _credentials(practitioner, pin="135792"),
        "wrong code": _credentials(practitioner, otp="000000" if practitioner.code() != "000000" else "111111"),
        "no code": _credentials(practitioner, otp=""),
    }
    answers = {}
    for what, body in bodies.items():
        response = _post(client, **body)
        answers[what] = (response.status_code, response.json()["code"], response.json()["detail"])
    assert len(set(answers.values())) == 1, answers
    status, code, detail = next(iter(answers.values()))
    assert status == 401 and code == "not_right" and "not right" in detail
    assert not ApiSession.objects.exists()


def test_ten_bad_attempts_lock_the_username_like_the_sign_in_page(client, practitioner):
    for _ in range(10):
        _post(client, **_credentials(practitioner, password="wrong-password-again"))
    response = _post(client, **_credentials(practitioner))
    assert response.status_code == 401 and response.json()["code"] == "locked"
    assert "locked for 30 minutes" in response.json()["detail"]


def test_a_malformed_request_is_a_422_that_does_not_echo_what_was_sent(client):
    response = client.post("/api/v1/session", {"username": "Amelia.Hartley"}, content_type="application/json")
    assert response.status_code == 422 and response.json()["code"] == "invalid"
    assert "Amelia" not in response.content.decode()
    response = client.post("/api/v1/session", "not json", content_type="application/json")
    assert response.status_code in (400, 422) and response["Content-Type"].startswith("application/json")


def test_closing_the_session_ends_the_token(client, practitioner):
    token = open_token(client, practitioner)
    assert client.delete("/api/v1/session", **bearer(token)).status_code == 204
    response = client.get("/api/v1/children", {"family": "Hartley"}, **bearer(token))
    assert response.status_code == 401 and response.json()["code"] == "session_ended"
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert AuditEntry.objects.filter(action="auth.logout", actor=practitioner.user.username).exists()


def test_a_token_idle_for_15_minutes_has_ended(client, practitioner):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        token = open_token(client, practitioner)
        clock.shift(timedelta(minutes=14))
        assert client.get("/api/v1/children", {"reason": "health"}, **bearer(token)).status_code == 422
        clock.shift(timedelta(minutes=16))
        response = client.get("/api/v1/children", {"reason": "health"}, **bearer(token))
    assert response.status_code == 401 and response.json()["code"] == "session_ended"


def test_a_web_session_cookie_does_not_authenticate_the_api(client, practitioner):
    from tests.factories import sign_in

    sign_in(client, practitioner)
    response = client.get("/api/v1/children", {"family": "Hartley", "birthdate": "2015-06-03",
                                               "reason": "health"})
    assert response.status_code == 401
