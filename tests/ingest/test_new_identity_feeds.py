"""After a new identity, a source sending the old details again does not bring the old identity back (issue 19):
a row with the sealed record's NHS number or UPN makes no child and links to nothing visible; it is held for the
data managers of the authority that made the new identity, and nothing anywhere links the old and new records."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command

from contactpoint.audit.models import AuditEntry
from contactpoint.children.models import Child, HeldRecord
from contactpoint.ingest.held import NEW_IDENTITY
from contactpoint.lifecycle import notices
from contactpoint.lifecycle.models import NewIdentityGuard
from contactpoint.lifecycle.notices import IdentityKind, NewIdentity
from contactpoint.vault.keyring import get_keyring
from tests.factories import make_person, sign_in, vouched_org
from tests.ingest.test_candidates import child_id_of
from tests.matching.test_review import AMELIA, GP_ROW, NOW, feed, health_org, source
from tests.search.test_service import find

pytestmark = pytest.mark.django_db

UPN = "E202200022001"
SCHOOL_ROW = AMELIA | {"source_record_id": "S-1", "nhs_number": "9434765919", "upn": UPN, "setting_urn": "100001",
                       "setting_name": "Agar Grove Primary"}


def test_a_source_sending_the_old_identity_again_makes_no_child_and_it_is_held_for_the_authority(client):
    school = source("agar-grove", "school_census", vouched_org())
    assert feed(school, SCHOOL_ROW, now=NOW - timedelta(days=2)).children_created == 1
    old = Child.objects.get(pk=child_id_of(school.code, "S-1")).cpid
    officer = make_person("dana.data", role="data-manager", org="LA-202")
    new = notices.new_identity(officer.user, old, NewIdentity(IdentityKind.ADOPTION, "Grace", "Okafor"),
                               keyring=get_keyring(), now=NOW - timedelta(days=1))
    after_new_identity = AuditEntry.objects.count()

    # The GP sends the old details (by NHS number); the school sends them under a new record, by UPN alone.
    gp = feed(source("gp-camden", "gp_registrations", health_org()), GP_ROW)
    by_upn = feed(school, AMELIA | {"source_record_id": "S-2", "upn": UPN, "setting_urn": "100001",
                                    "setting_name": "Agar Grove Primary"}, now=NOW + timedelta(hours=1))
    assert gp.children_created == by_upn.children_created == 0 and gp.records_linked == by_upn.records_linked == 0
    assert gp.rows_held == by_upn.rows_held == 1
    assert set(Child.objects.filter(status="live").values_list("cpid", flat=True)) == {new}
    held = list(HeldRecord.objects.order_by("id"))
    assert [(h.responsible_la, h.reason) for h in held] == [("202", NEW_IDENTITY)] * 2
    # Sent again: still held, still no child.
    assert feed(source("child-benefit", "child_benefit", vouched_org("CP-NATIONAL-2", "Child Benefit", "national")),
                AMELIA | {"source_record_id": "CHB-1", "nhs_number": "9434765919"},
                now=NOW + timedelta(hours=2)).children_created == 0

    # The school's own old record, sent again changed, stays with the sealed record: nothing visible changes.
    feed(school, SCHOOL_ROW | {"carer_1_phone": "07700 900999"}, now=NOW + timedelta(hours=3))
    assert Child.objects.get(cpid=old).status == "sealed"
    assert set(Child.objects.filter(status="live").values_list("cpid", flat=True)) == {new}

    # Nobody finds the old identity, by name or by NHS number.
    worker = make_person("sam.social").user
    assert find(worker, family="Hartley", birthdate="2015-06-03").hits == ()
    assert find(worker, nhs_number="9434765919", birthdate="2015-06-03").hits == ()

    # The authority's data manager sees the held rows, with why; the page names neither record.
    sign_in(client, officer)
    page = client.get("/review/held").content.decode()
    assert "3 rows held for your local authority" in page and "Amelia Hartley" in page
    assert "sealed when the child was given a new identity" in page
    assert new not in page and old not in page
    # And no audit entry since the new identity names the new record, nor both.
    since = AuditEntry.objects.order_by("seq")[after_new_identity:]
    assert not [e for e in since if new in e.subjects or new in str(e.context)]
    assert not [e for e in AuditEntry.objects.all() if old in e.subjects and new in e.subjects]
    assert not [h for h in HeldRecord.objects.all() if new in f"{h.reason}{h.flags}"]


def test_another_child_from_the_same_source_is_taken_in_as_usual():
    school = source("agar-grove", "school_census", vouched_org())
    feed(school, SCHOOL_ROW, now=NOW - timedelta(days=2))
    officer = make_person("dana.data", role="data-manager", org="LA-202").user
    notices.new_identity(officer, Child.objects.get().cpid, NewIdentity(IdentityKind.ADOPTION, "Grace", "Okafor"),
                         keyring=get_keyring(), now=NOW - timedelta(days=1))
    other = GP_ROW | {"source_record_id": "GP-7", "given_name": "Zara", "nhs_number": "4010232137",
                      "date_of_birth": "2012-02-20"}
    run = feed(source("gp-camden", "gp_registrations", health_org()), other)
    assert run.children_created == 1 and run.rows_held == 0


def test_a_new_identity_made_before_guards_existed_is_guarded_by_the_command():
    school = source("agar-grove", "school_census", vouched_org())
    feed(school, SCHOOL_ROW, now=NOW - timedelta(days=2))
    officer = make_person("dana.data", role="data-manager", org="LA-202").user
    notices.new_identity(officer, Child.objects.get().cpid, NewIdentity(IdentityKind.ADOPTION, "Grace", "Okafor"),
                         keyring=get_keyring(), now=NOW - timedelta(days=1))
    NewIdentityGuard.objects.all().delete()  # as it was before this release
    call_command("lifecycle", "guard-new-identities")
    assert notices.guard_earlier_new_identities(get_keyring()) == 0  # done once; nothing more to do
    run = feed(source("gp-camden", "gp_registrations", health_org()), GP_ROW)
    assert run.children_created == 0 and run.rows_held == 1
