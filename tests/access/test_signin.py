from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from contactpoint.access.models import User
from contactpoint.audit.models import AuditEntry
from tests.factories import make_person, sign_in

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


def _normalise(html: bytes) -> str:
    text = html.decode()
    text = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", text)
    return re.sub(r"nonce-[^'\"]+|nonce=\"[^\"]+\"", "", text)


def test_password_pin_and_token_code_sign_a_practitioner_in(client, clock):
    person = make_person()
    response = sign_in(client, person)
    assert response.status_code == 302 and response["Location"] == "/home"
    assert client.get("/home").status_code == 200
    assert AuditEntry.objects.filter(action="auth.login.succeeded", actor=person.user.username).exists()


def test_a_wrong_pin_is_refused_with_the_same_words_as_anything_else(client, clock):
    person = make_person()
    response = client.post("/sign-in", {"username": person.user.username, "password": person.password,
                                        "pin": "135791", "code": person.code()})
    assert response.status_code == 200
    assert b"The username, password, PIN or security code is not right" in response.content
    assert client.get("/home").status_code == 302


def test_a_token_code_used_once_is_refused_the_second_time(client, clock):
    person = make_person()
    code = person.code()
    assert sign_in(client, person, code).status_code == 302
    client.post("/sign-out")
    clock.shift(5)  # still inside the same 30-second step
    response = sign_in(client, person, code)
    assert response.status_code == 200 and b"not right" in response.content


def test_ten_wrong_attempts_lock_sign_in_and_an_unknown_username_looks_identical(client, clock):
    person = make_person()
    for attempt in range(10):
        known = client.post("/sign-in", {"username": person.user.username, "password": "wrong-password-x",
                                         "pin": person.pin, "code": person.code()})
        unknown = client.post("/sign-in", {"username": "nobody.here", "password": "wrong-password-x",
                                           "pin": person.pin, "code": person.code()})
        assert known.status_code == unknown.status_code == 200
        assert _normalise(known.content).replace(person.user.username, "X") == \
            _normalise(unknown.content).replace("nobody.here", "X"), f"attempt {attempt + 1} differs"
    assert b"locked for 30 minutes after 10 attempts" in known.content
    # Locked: even the right details are refused, for the same 30 minutes.
    assert sign_in(client, person).status_code == 200
    clock.shift(timedelta(minutes=31))
    assert sign_in(client, person, person.next_code()).status_code == 302
    assert AuditEntry.objects.filter(action="auth.account.locked").count() == 2  # the account and the unknown name


def test_an_unknown_username_costs_the_same_argon2_work(client, clock, monkeypatch):
    from django.contrib.auth import hashers

    person = make_person()
    calls: list[str] = []
    real = hashers.check_password
    monkeypatch.setattr("contactpoint.access.authentication.check_password",
                        lambda pw, encoded, *a, **k: calls.append(encoded[:6]) or real(pw, encoded, *a, **k))
    client.post("/sign-in", {"username": person.user.username, "password": "wrong-password-x", "pin": "135791",
                             "code": "123456"})
    known = list(calls)
    calls.clear()
    client.post("/sign-in", {"username": "nobody.here", "password": "wrong-password-x", "pin": "135791",
                             "code": "123456"})
    assert len(known) == len(calls) == 2 and all(c.startswith("argon2") for c in known + calls)


def test_signing_in_issues_a_new_session_id_in_a_host_prefixed_secure_cookie(client, clock):
    person = make_person()
    client.get("/sign-in")
    before = client.cookies.get("__Host-contactpoint-session")
    response = sign_in(client, person)
    cookie = response.cookies["__Host-contactpoint-session"]
    assert cookie["secure"] and cookie["httponly"] and cookie["path"] == "/" and not cookie["domain"]
    assert before is None or cookie.value != before.value


def test_sixteen_idle_minutes_end_the_session(client, clock):
    person = make_person()
    sign_in(client, person)
    clock.shift(timedelta(minutes=14))
    assert client.get("/home").status_code == 200  # activity resets the idle clock
    clock.shift(timedelta(minutes=16))
    response = client.get("/home")
    assert response.status_code == 302 and response["Location"] == "/signed-out"
    assert b"inactive for 15 minutes" in client.get("/signed-out").content
    assert AuditEntry.objects.filter(action="auth.session.ended", context__why="idle").exists()


def test_twelve_hours_end_the_session_however_busy(client, clock):
    person = make_person()
    sign_in(client, person)
    for _ in range(12 * 6):
        clock.shift(timedelta(minutes=10))
        client.get("/home")
    clock.shift(timedelta(minutes=1))
    assert client.get("/home")["Location"] == "/signed-out"


def test_a_new_user_must_set_their_own_password_and_pin_then_sign_the_policy(client, clock):
    person = make_person(ready=False)
    sign_in(client, person)
    assert client.get("/home")["Location"] == "/account/policy"
    client.post("/account/policy", {"agree": "on"})
    assert client.get("/home")["Location"] == "/account/credentials"
    response = client.post("/account/credentials", {"current_password": person.password,
                                                    "new_password": "a-much-longer-passphrase-9",
                                                    "new_pin": "864209"})
    assert response["Location"] == "/signed-out"  # changing credentials ends every session
    person.password, person.pin = "a-much-longer-passphrase-9", "864209"
    clock.shift(31)
    assert sign_in(client, person).status_code == 302
    assert client.get("/home").status_code == 200
    assert not User.objects.get(pk=person.user.pk).must_change_credentials


def _sign_in_from(person, remote: str, forwarded: str | None):
    from django.test import Client

    headers = {"REMOTE_ADDR": remote} | ({"HTTP_X_FORWARDED_FOR": forwarded} if forwarded else {})
    Client().post("/sign-in", {"username": person.user.username, "password": person.password, "pin": person.pin,
                             "code": person.code()}, **headers)
    return AuditEntry.objects.filter(action="auth.login.succeeded", actor=person.user.username).get().context["ip"]


def test_behind_the_trusted_proxy_the_audit_records_the_client_and_a_spoofed_header_is_ignored(clock, monkeypatch):
    import dataclasses
    from ipaddress import ip_network

    from contactpoint.config import get_settings

    monkeypatch.setattr("contactpoint.config._settings", dataclasses.replace(
        get_settings(), trusted_proxies=(ip_network("10.0.0.0/24"),)))
    # (Three people: a security code is good for one sign-in, and the clock stands still here.)
    first, second, third = (make_person(f"user.{n}") for n in range(3))
    # Through the proxy: the client is the address the proxy saw (the right-most one not a proxy).
    assert _sign_in_from(first, "10.0.0.5", "198.51.100.7, 203.0.113.9") == "203.0.113.9"
    # Straight from somewhere else, claiming to be forwarded: the header is not believed.
    assert _sign_in_from(second, "192.0.2.44", "203.0.113.9") == "192.0.2.44"
    # No proxies configured (the default): never read.
    monkeypatch.setattr("contactpoint.config._settings", dataclasses.replace(get_settings(), trusted_proxies=()))
    assert _sign_in_from(third, "10.0.0.5", "203.0.113.9") == "10.0.0.5"


def test_password_and_pin_before_a_security_key_are_audited_and_the_key_completes_the_sign_in(client, clock):
    import hashlib

    from django_otp_webauthn.models import WebAuthnCredential

    person = make_person("kay.key")
    WebAuthnCredential.objects.create(
        user=person.user, name="key", confirmed=True, credential_id=b"k1", public_key=b"p",
        aaguid="00000000-0000-0000-0000-000000000000", credential_id_sha256=hashlib.sha256(b"k1").hexdigest())
    response = client.post("/sign-in", {"username": person.user.username, "password": person.password,
                                        "pin": person.pin, "code": ""}, REMOTE_ADDR="192.0.2.8")
    assert response.status_code == 302 and response["Location"].startswith("/sign-in/security-key")
    [first] = AuditEntry.objects.filter(action="auth.login.awaiting_key")
    assert first.actor == "kay.key" and first.context == {"ip": "192.0.2.8", "factor": "webauthn"}
    assert not AuditEntry.objects.filter(action="auth.login.succeeded").exists()  # not until the key says so


def test_a_new_policy_ends_a_session_begun_under_the_old_one_and_the_next_sign_in_asks_for_it_first(client, clock):
    from django.utils import timezone

    from contactpoint.access.models import PolicyVersion

    person = make_person()
    sign_in(client, person)
    assert client.get("/home").status_code == 200
    PolicyVersion.objects.create(version=99, published_at=timezone.now(), summary="new")

    assert client.get("/home")["Location"] == "/signed-out"
    ended = AuditEntry.objects.filter(action="auth.session.ended").latest("seq")
    assert ended.context == {"why": "precondition", "precondition": "policy_signed"}

    clock.shift(31)  # the next security code
    sign_in(client, person)
    assert client.get("/home")["Location"] == "/account/policy"  # this session is for signing it
    assert client.get("/account/policy").status_code == 200
    client.post("/account/policy", {"agree": "on"})
    assert client.get("/home").status_code == 200
    PolicyVersion.objects.create(version=100, published_at=timezone.now(), summary="newer")
    assert client.get("/home")["Location"] == "/signed-out"  # signed in this session: a lapse ends it too
