"""The organisation of a practitioner's involvement is sealed like the rest of it (issue 19): which organisation
works with a child says what help the child gets. Pages, the API and the checks that need "this organisation's
entries" still work; entries from before are sealed by ``seal_involvement_organisations``."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import connection

from contactpoint.records.involvements import seal_involvement, seal_organisations
from contactpoint.records.models import PractitionerInvolvement
from contactpoint.vault.keyring import get_keyring
from tests.api.clients import bearer, open_token
from tests.factories import make_person, make_record, sign_in, vouched_org
from tests.records.test_involvements import (
    NOW,
    change_involvement,
    details,
    end_involvement,
    record,
    seen,
)
from tests.records.test_involvements import (
    get_keyring as _keyring,
)
from tests.search.test_service import add

pytestmark = pytest.mark.django_db
ORG_CODE, ORG_NAME = "NP-ZQX", "Zanzibar Quayside Trust"


def involvement_rows() -> bytes:
    """Every stored byte of the involvements table, as a dump of it would hold them."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM records_practitioner_involvement")
        rows = cursor.fetchall()
    out = b""
    for row in rows:
        for value in row:
            out += bytes(value) if isinstance(value, (bytes, memoryview)) else str(value).encode()
    return out


def leaks(blob: bytes) -> list[str]:
    return [w for w in (ORG_CODE, ORG_NAME, "Zanzibar", "ZQX") if w.encode() in blob or w.lower().encode() in blob]


@pytest.fixture
def nurse():
    # A national partner's administrator manages their own staff's entries.
    vouched_org(code=ORG_CODE, name=ORG_NAME, kind="national_partner")
    return make_person("zoe.nurse", role="national-partner", org=ORG_CODE, full_name="Zoe Nurse")


def test_no_organisation_is_stored_in_clear_and_every_reader_still_shows_it(client, nurse):
    [cpid] = add(make_record())
    key = record(nurse.user, cpid, service="voluntary", lead_professional=True)
    change_involvement(nurse.user, key, details(service="voluntary", phone="020 7946 0999", lead_professional=True),
                       keyring=_keyring(), now=NOW)
    assert PractitionerInvolvement.objects.count() == 1 and leaks(involvement_rows()) == []

    # The record (and so the page and the API) names the organisation, and its source is the organisation.
    sam = make_person("sam.social", full_name="Sam Okafor")
    [item] = seen(sam.user, cpid).record.involvements
    assert item.value.organisation == ORG_NAME and item.provenance.source == f"practitioner:{ORG_CODE}"
    sign_in(client, sam)
    client.post(f"/children/{cpid}", {"reason": "health"})
    assert ORG_NAME in client.get(f"/children/{cpid}").content.decode()
    api = client.get(f"/api/v1/children/{cpid}", {"reason": "child_protection"},
                     **bearer(open_token(client, make_person("amy.api", full_name="Amy Api"))))
    assert ORG_NAME in str(api.json())

    # The organisation's administrator still manages their staff's entry, found by its keyed hash.
    admin = make_person("ola.admin", role="org-admin", org=ORG_CODE).user
    end_involvement(admin, key, NOW.date(), keyring=_keyring(), now=NOW)
    assert leaks(involvement_rows()) == []


def test_entries_from_before_are_read_in_either_form_and_sealed_by_the_command(nurse):
    [cpid] = add(make_record())
    key = record(nurse.user, cpid, service="voluntary")
    # As an entry recorded before the organisation was sealed: in clear, without it in the payload.
    entry = PractitionerInvolvement.objects.get(key=key)
    from contactpoint.children.store import cipher_for
    from contactpoint.records.involvements import open_involvement

    cipher = cipher_for(get_keyring(), entry.child)
    held = open_involvement(cipher, entry)
    from dataclasses import replace
    entry.payload = seal_involvement(cipher, key, replace(held, org_code=""))
    entry.organisation, entry.org_token = ORG_CODE, ""
    entry.save()
    assert ORG_CODE.encode() in involvement_rows()

    admin = make_person("ola.admin", role="org-admin", org=ORG_CODE).user
    sam = make_person("sam.social").user
    assert seen(sam, cpid).record.involvements[0].provenance.source == f"practitioner:{ORG_CODE}"
    # The old form still works.
    change_involvement(admin, key, details(service="voluntary", role="Senior worker"), keyring=get_keyring(), now=NOW)

    call_command("seal_involvement_organisations")
    assert leaks(involvement_rows()) == []
    assert seal_organisations(get_keyring()) == 0  # nothing left; running again changes nothing
    end_involvement(admin, key, NOW.date(), keyring=get_keyring(), now=NOW)  # the sealed form works
    assert seen(sam, cpid).record.involvements[0].value.organisation == ORG_NAME
