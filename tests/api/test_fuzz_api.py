"""Schemathesis against the OpenAPI document of /api/v1 and FHIR, through the Django WSGI application: whatever
it sends, with no token, a practitioner's token or a source system's key, no answer is a 5xx, every answer
conforms to the published schema, and no operation that declares authentication works without it
(schemathesis' ``ignored_auth`` check probes each successful call again without, and with a wrong, token)."""

from __future__ import annotations

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from contactpoint.api.main import api
from contactpoint.fhir.main import fhir
from tests.api.clients import make_source, open_token
from tests.factories import make_person, make_record
from tests.search.test_service import add

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

# A feed in JSON Lines is bytes like any other file.
schemathesis.serializer.alias("application/x-ndjson", "application/octet-stream")

FUZZ = settings(max_examples=40, deadline=None, database=None, derandomize=True,
                suppress_health_check=list(HealthCheck))


@pytest.fixture
def world(client, generous_limits):
    """A child to find, a practitioner's token and a source's key.

    Then requests go through Django's WSGI handler inside the test's transaction, as the test client keeps them:
    a request must not close the connection the test runs in (the test client reconnects the signal after each
    of its own requests, so it is disconnected last)."""
    add(make_record())
    source, key = make_source()
    person = make_person("fuzz.practitioner")
    world = {"token": open_token(client, person), "key": key, "source": source.code}
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield world
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def _loaded(ninja_api, prefix: str):
    from django.core.wsgi import get_wsgi_application

    loaded = schemathesis.openapi.from_dict(ninja_api.get_openapi_schema(path_prefix=prefix))
    loaded.app = get_wsgi_application()
    return loaded


api_schema = _loaded(api, "/api/v1/")
fhir_schema = _loaded(fhir, "/fhir/")


# A request can match the schema and still be refused, rightly: too little detail for the anti-trawling policy,
# no reason from the list, a name with no letters. The policy is the rule, not the schema; every other check runs.
EXCLUDED = [positive_data_acceptance]


def _headers(case, world, who: str) -> dict[str, str]:
    if who == "anonymous":
        return {}
    if "source" in (case.path_parameters or {}):
        if who == "key":
            case.path_parameters["source"] = world["source"]  # reach the feed itself, not only the refusal
        return {"Authorization": f"Bearer {world['key'] if who == 'key' else world['token']}"}
    return {"Authorization": f"Bearer {world['token'] if who != 'key' else world['key']}"}


@api_schema.parametrize()
@FUZZ
def test_the_json_api_without_a_token_refuses_everything_but_opening_a_session(case, world):
    case.call_and_validate(excluded_checks=EXCLUDED, headers=_headers(case, world, "anonymous"))


@api_schema.parametrize()
@FUZZ
def test_the_json_api_with_a_practitioners_token_never_fails(case, world):
    case.call_and_validate(excluded_checks=EXCLUDED, headers=_headers(case, world, "token"))


@api_schema.parametrize()
@FUZZ
def test_the_json_api_with_a_source_systems_key_never_fails(case, world):
    case.call_and_validate(excluded_checks=EXCLUDED, headers=_headers(case, world, "key"))


@fhir_schema.parametrize()
@FUZZ
def test_fhir_without_a_token_refuses_everything_but_metadata(case, world):
    case.call_and_validate(excluded_checks=EXCLUDED, headers=_headers(case, world, "anonymous"))


@fhir_schema.parametrize()
@FUZZ
def test_fhir_with_a_practitioners_token_never_fails(case, world):
    case.call_and_validate(excluded_checks=EXCLUDED, headers=_headers(case, world, "token"))


VALID = [
    (api_schema, "/api/v1/children", "GET", "token", {"family": "Hartley", "birthdate": "2015-06-03",
                                                      "reason": "health"}),
    (api_schema, "/api/v1/feeds/{source}/discrepancies", "GET", "key", {}),
    (api_schema, "/api/v1/session", "DELETE", "token", {}),
    (fhir_schema, "/fhir/Patient", "GET", "token", {"identifier": "9434765919", "_reason": "health"}),
]


@pytest.mark.parametrize("schema,path,method,who,query", VALID, ids=[f"{m} {p}" for _, p, m, _, _ in VALID])
def test_a_successful_call_fails_without_its_token_and_with_a_wrong_one(world, schema, path, method, who, query):
    """The ``ignored_auth`` check replays a successful call without credentials and with made-up ones."""
    operation = schema[path][method]
    params = {"source": world["source"]} if "{source}" in path else None
    case = operation.Case(query=query or None, path_parameters=params,
                          headers={"Authorization": f"Bearer {world[who]}"})
    response = case.call_and_validate(excluded_checks=EXCLUDED)
    assert 200 <= response.status_code < 300
