"""A data manager creates a child no source knows through the JSON API (issue 19): the page's rules, matching and
review queue, idempotent by the caller's submission reference."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client

from contactpoint.audit.models import AuditEntry
from contactpoint.children.models import Child, ChildStatus
from contactpoint.matching.models import ReviewItem
from tests.api.clients import bearer, open_token
from tests.factories import make_person
from tests.matching.test_review import GP_ROW, NOW, feed, health_org, source

pytestmark = pytest.mark.django_db

ZARA = {"submission": "case-system-000123", "given_name": "Zara", "family_name": "Okonkwo", "gender": "female",
        "date_of_birth": "2019-04-11", "address_line_1": "3 Camden Square", "town": "London", "postcode": "NW1 9XA",
        "carers": [{"name": "Ada Okonkwo", "relationship": "mother", "parental_responsibility": True}]}


def _post(client: Client, token: str, body: dict):
    return client.post("/api/v1/records", body, content_type="application/json", **bearer(token))


def test_a_data_manager_creates_a_child_once_however_often_the_request_is_sent(client):
    token = open_token(client, make_person("dm.one", role="data-manager"))
    made = _post(client, token, ZARA)
    assert made.status_code == 201
    body = made.json()
    assert body["outcome"] == "created" and body["contactpoint_id"] == body["reference"] and not body["repeated"]
    again = _post(client, token, ZARA)
    assert again.status_code == 201 and again.json()["contactpoint_id"] == body["contactpoint_id"]
    assert again.json()["repeated"] and Child.objects.count() == 1
    assert Child.objects.get().responsible_la == "202"
    assert AuditEntry.objects.filter(action="record.created").count() == 2


def test_a_possible_match_is_accepted_for_review_and_names_no_child(client):
    feed(source("gp-camden", "gp_registrations", health_org()), GP_ROW, now=NOW - timedelta(days=1))
    existing = Child.objects.get()
    token = open_token(client, make_person("dm.one", role="data-manager"))
    sent = _post(client, token, ZARA | {"given_name": "Amelia", "family_name": "Hartley",
                                        "date_of_birth": "2015-06-03", "address_line_1": "12 Agar Grove",
                                        "postcode": "NW1 8NP", "carers": []})
    assert sent.status_code == 202
    body = sent.json()
    assert body["outcome"] == "review" and body["contactpoint_id"] is None
    assert body["reference"] == f"R-{ReviewItem.objects.get().pk}"
    assert existing.cpid not in sent.content.decode()
    assert Child.objects.filter(status=ChildStatus.LIVE).count() == 1


def test_bad_details_a_practitioner_and_a_bad_reference_are_refused(client):
    dm = open_token(client, make_person("dm.one", role="data-manager"))
    bad = _post(client, dm, ZARA | {"nhs_number": "9434765918"})
    assert bad.status_code == 422 and bad.json()["field"] == "nhs_number" and "9434765918" not in bad.content.decode()
    assert _post(client, dm, ZARA | {"submission": "x"}).status_code == 422
    practitioner = open_token(Client(), make_person("sam.social"))
    assert _post(Client(), practitioner, ZARA).status_code == 403
    assert not Child.objects.exists()
