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
# Addresses outside the operations: the API's list of entry points, the OpenAPI document and docs page (describe
# the interface, hold no data) and the catch-alls that answer 404 in each interface's own format.
PUBLIC_PAGES = {"/api/v1/", "/api/v1/openapi.json", "/api/v1/docs"}
NOWHERE = {"/api/", "/api/{rest}", "/fhir/", "/fhir/{rest}"}


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
    ("POST", "/api/v1/feeds/{source}"): Call({}, "feed.queued", body=_csv_feed, content_type="text/csv"),
    ("GET", "/api/v1/feeds/{source}/jobs/{job}"): Call({}, "feed.job.read"),
    ("GET", "/api/v1/feeds/{source}/discrepancies"): Call({}, "feed.discrepancy.fetched"),
    ("POST", "/api/v1/feeds/{source}/discrepancies/{item}/acknowledge"): Call({}, "feed.discrepancy.acknowledged"),
    ("POST", "/api/v1/feeds/{source}/discrepancies/{item}/dispute"): Call(
        {}, "feed.discrepancy.disputed", body={"reason": "The parents showed us the birth certificate."}),
    ("POST", "/api/v1/children/{contactpoint_id}/amendments"): Call(
        {}, "record.amended", body={"field": "gender", "values": {"gender": "male"}, "reason": "Typo."}),
    ("POST", "/api/v1/amendments/{reference}/decision"): Call({}, "record.amendment.approved", body={"approve": True}),
    ("POST", "/api/v1/amendments/{reference}/withdraw"): Call({}, "record.amendment.withdrawn"),
    ("GET", "/api/v1/missing-education"): Call({}, "lifecycle.missing_education.viewed"),
    ("POST", "/api/v1/records"): Call({}, "record.created", body={
        "submission": "walk-00000001", "given_name": "Walter", "family_name": "Byhand", "gender": "male",
        "date_of_birth": "2016-05-05", "address_line_1": "1 Walk Street", "postcode": "NW1 9XA"}),
    ("GET", "/fhir/metadata"): Call({}, None),
    ("GET", "/fhir/Patient"): Call({"family": "Hartley", "birthdate": "2015-06-03", "_reason": "health"},
                                   "child.search"),
    ("GET", "/fhir/Patient/{id}"): Call({"_reason": "health"}, "child.record.viewed"),
}


def url(operation: Operation, *, cpid: str, source: str) -> str:
    route = operation.route
    if "{item}" in route:
        route = route.replace("{item}", str(item_of(source, cpid)))
    if "{job}" in route:
        route = route.replace("{job}", job_of(source))
    if "{reference}" in route:
        route = route.replace("{reference}", reference_of(cpid, proposed=route.endswith("/decision")))
    return route.replace("{contactpoint_id}", cpid).replace("{id}", cpid).replace("{source}", source)


def reference_of(cpid: str, *, proposed: bool) -> str:
    """The reference of a change to the child ``cpid`` by another data manager: an NHS number awaiting approval
    (``proposed``), else a gender in effect; made the first time it is asked for."""
    from django.utils import timezone

    from contactpoint.access.models import User
    from contactpoint.records import amendments
    from contactpoint.records.models import Amendment
    from contactpoint.vault.keyring import get_keyring
    from tests.factories import make_person

    field = "nhs_number" if proposed else "gender"
    found = Amendment.objects.filter(child__cpid=cpid, field=field).values_list("key", flat=True).first()
    if found is not None:
        return found
    user = User.objects.filter(username="walk.proposer").first() or \
        make_person("walk.proposer", role="data-manager").user
    values = {"nhs_number": "9434765870"} if proposed else {"gender": "male"}
    return amendments.amend(user, cpid, field, values, "Walked.", keyring=get_keyring(), now=timezone.now()).key


def job_of(source: str) -> str:
    """The ID of a feed job of ``source``, sent the first time a job is asked about."""
    from django.utils import timezone

    from contactpoint.access.models import SourceSystem
    from contactpoint.feeds.models import FeedJob
    from contactpoint.ingest.jobs import submit
    from contactpoint.vault.keyring import get_keyring

    found = FeedJob.objects.filter(source__code=source).first()
    if found is None:
        found = submit(SourceSystem.objects.get(code=source), _csv_feed(), fmt="csv", mode="delta",
                       keyring=get_keyring(), now=timezone.now())
    return str(found.id)


def item_of(source: str, cpid: str) -> int:
    """The ID of an open discrepancy item of ``source`` about the child ``cpid``, made (with the source's record
    of the child) the first time an operation on an item is called."""
    from django.utils import timezone

    from contactpoint.bestview.models import Discrepancy
    from contactpoint.children.models import Child, SourceRecord
    from contactpoint.children.record import PersonName
    from contactpoint.children.source_records import FeedRow, dumps, record_key, seal_record
    from contactpoint.children.store import cipher_for
    from contactpoint.vault.keyring import get_keyring

    found = Discrepancy.objects.filter(source=source, closed_at__isnull=True).values_list("id", flat=True).first()
    if found is not None:
        return found
    child, keyring, now = Child.objects.get(cpid=cpid), get_keyring(), timezone.now()
    key = record_key(keyring, source, "W-1")
    payload = dumps(FeedRow(line=2, source_record_id="W-1", name=PersonName(given="Walker", family="Test")))
    record = SourceRecord.objects.create(child=child, source=source, source_kind="la_social_care", record_key=key,
                                         content_hash="x", feed_run="walk", received=now.date(),
                                         payload=seal_record(cipher_for(keyring, child), key, payload))
    return Discrepancy.objects.create(source=source, record=record, child=child, field="nhs_number",
                                      kind=Discrepancy.Kind.INVALID, reason="the check digit is wrong (modulus 11)",
                                      opened_at=now).pk


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
