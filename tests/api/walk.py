"""The operations of the JSON API and FHIR, found by walking the two ninja APIs (not listed by hand), with what
each needs to be called successfully and the audit entry a successful call must write.

``tests/test_url_protection.py`` uses this to prove, for every operation, that an anonymous caller, a caller
with a lapsed condition of access and a caller without the permission are all refused, and that every response
with child data was audited. An operation missing from ``CALLS`` fails that test: a new operation must say how
it is called and what it audits."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from typing import Any

from contactpoint.access.roles import SOURCE_SCOPES, Permission
from contactpoint.api.auth import required_permission
from contactpoint.api.main import api
from contactpoint.fhir.main import fhir

PUBLIC = {("POST", "/api/v1/session"), ("GET", "/fhir/metadata")}
# Addresses outside the operations: the OpenAPI document and docs page (describe the interface, hold no data)
# and the catch-alls that answer 404 in each interface's own format.
PUBLIC_PAGES = {"/api/v1/openapi.json", "/api/v1/docs"}
NOWHERE = {"/api/", "/api/{rest}", "/api/v1/", "/fhir/", "/fhir/{rest}"}


@dataclass(frozen=True)
class Operation:
    method: str
    route: str  # with {placeholders}
    permission: Permission | None

    @property
    def key(self) -> tuple[str, str]:
        return self.method, self.route

    @property
    def for_sources(self) -> bool:
        return self.permission in SOURCE_SCOPES

    def __str__(self) -> str:
        return f"{self.method} {self.route}"


def operations() -> list[Operation]:
    found = []
    for ninja_api, prefix in ((api, "/api/v1"), (fhir, "/fhir")):
        for bound in ninja_api._get_bound_routers():
            for path, path_view in bound.path_operations.items():
                for op in path_view.operations:
                    permissions = {required_permission(a) for a in op.auth_callbacks}
                    assert len(permissions) <= 1, f"{path}: one permission per operation"
                    for method in op.methods:
                        route = re.sub(r"/+", "/", f"{prefix}/{bound.prefix}/{path}")
                        found.append(Operation(method, route, next(iter(permissions), None)))
    return sorted(found, key=str)


def _csv_feed() -> bytes:
    from contactpoint.feeds import formats
    from contactpoint.feeds.formats.raw import blank_fields

    stream = io.BytesIO()
    formats.write("csv", [blank_fields() | {"source_record_id": "W-1", "given_name": "Walker", "family_name": "Test",
                                            "gender": "male", "date_of_birth": "2014-02-02"}], stream)
    return stream.getvalue()


@dataclass(frozen=True)
class Call:
    params: dict[str, str]
    audit: str | None  # the audit action a successful call writes
    body: Any = None
    content_type: str = "application/json"


REASON = {"reason": "child_protection"}
CALLS: dict[tuple[str, str], Call] = {
    ("POST", "/api/v1/session"): Call({}, "auth.api_session.issued", body="credentials"),
    ("DELETE", "/api/v1/session"): Call({}, "auth.logout"),
    ("GET", "/api/v1/children"): Call({"family": "Hartley", "birthdate": "2015-06-03", **REASON}, "child.search"),
    ("GET", "/api/v1/children/{contactpoint_id}"): Call(REASON, "child.record.viewed"),
    ("POST", "/api/v1/feeds/{source}"): Call({}, "feed.received", body=_csv_feed, content_type="text/csv"),
    ("GET", "/api/v1/feeds/{source}/discrepancies"): Call({}, "feed.discrepancy.fetched"),
    ("GET", "/fhir/metadata"): Call({}, None),
    ("GET", "/fhir/Patient"): Call({"family": "Hartley", "birthdate": "2015-06-03", "_reason": "health"},
                                   "child.search"),
    ("GET", "/fhir/Patient/{id}"): Call({"_reason": "health"}, "child.record.viewed"),
}


def url(operation: Operation, *, cpid: str, source: str) -> str:
    return (operation.route.replace("{contactpoint_id}", cpid).replace("{id}", cpid)
            .replace("{source}", source))


def call(client, operation: Operation, headers: dict[str, str], *, cpid: str, source: str, person=None):
    spec = CALLS[operation.key]
    target = url(operation, cpid=cpid, source=source)
    if spec.params:
        target += "?" + "&".join(f"{k}={v}" for k, v in spec.params.items())
    body = spec.body() if callable(spec.body) else spec.body
    if body == "credentials":
        body = {"username": person.user.username, "password": person.password, "pin": person.pin,
                "otp": person.code()}
    return client.generic(operation.method, target, data=_encode(body, spec.content_type),
                          content_type=spec.content_type, **headers)


def _encode(body: Any, content_type: str) -> bytes:
    import json

    if body is None:
        return b""
    return body if isinstance(body, bytes) else json.dumps(body).encode()
