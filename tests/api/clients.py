"""Clients of the machine interfaces (fixtures for tests/api and tests/fhir): a practitioner's case-management
system holding a bearer token, and a source system holding its API key."""

from __future__ import annotations

import dataclasses

import pytest
from django.utils import timezone

from contactpoint.access.models import Organisation
from contactpoint.access.sources import issue_key, register_source
from contactpoint.config import SearchSettings, get_settings
from contactpoint.vault.keyring import get_keyring
from tests.factories import make_person

GENEROUS = SearchSettings(result_cap=20, searches_per_minute=10_000, searches_per_hour=10_000,
                          searches_per_day=10_000)


def open_token(client, person, code: str | None = None) -> str:
    response = client.post("/api/v1/session", {"username": person.user.username, "password": person.password,
                                               "pin": person.pin, "otp": code or person.code()},
                           content_type="application/json")
    assert response.status_code == 201, response.content
    return response.json()["token"]


def bearer(token: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


@pytest.fixture
def generous_limits(monkeypatch):
    monkeypatch.setattr("contactpoint.config._settings", dataclasses.replace(get_settings(), search=GENEROUS))


@pytest.fixture
def practitioner(db):
    return make_person()


@pytest.fixture
def token(client, practitioner) -> str:
    return open_token(client, practitioner)


@pytest.fixture
def auth(token) -> dict[str, str]:
    return bearer(token)


def make_source(code: str = "camden-social-care", org: str = "LA-202", kind: str = "la_social_care"):
    source = register_source(None, code=code, name=code, kind=kind,
                             organisation=Organisation.objects.get(code=org), now=timezone.now(),
                             keyring=get_keyring())
    return source, issue_key(None, source, now=timezone.now(), keyring=get_keyring()).token


@pytest.fixture
def source_key(db):
    return make_source()
