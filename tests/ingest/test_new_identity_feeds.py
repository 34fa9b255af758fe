"""After a new identity, a source sending the old details again does not bring the old identity back (issue 19):
a row with the sealed record's NHS number or UPN makes no child and links to nothing visible; it is held for the
data managers of the authority that made the new identity, and nothing anywhere links the old and new records."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command

from contactpoint.audit.models import AuditEntry
from contactpoint.children.models import Child, HeldRecord
from contactpoint.ingest.held import NEW_IDENTITY, NEW_IDENTITY_DETAILS
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


# --- recognised without identifiers (issue 19): the old name and date of birth, at the old address ---------------

OLD_DETAILS = {k: v for k, v in AMELIA.items() if k not in ("nhs_number", "upn", "uln")}


def _new_identity_made(officer) -> tuple[str, str]:
    school = source("agar-grove", "school_census", vouched_org())
    feed(school, SCHOOL_ROW, now=NOW - timedelta(days=2))
    old = Child.objects.get().cpid
    new = notices.new_identity(officer, old, NewIdentity(IdentityKind.ADOPTION, "Grace", "Okafor"),
                               keyring=get_keyring(), now=NOW - timedelta(days=1))
    return old, new


def test_the_old_name_date_of_birth_and_postcode_without_identifiers_are_held_not_made_a_child(client):
    officer = make_person("dana.data", role="data-manager", org="LA-202")
    old, new = _new_identity_made(officer.user)
    assert "NHS" not in str(OLD_DETAILS) and not {"nhs_number", "upn"} & set(OLD_DETAILS)
    # A health visiting service that never knew her identifiers sends the old name, date of birth and address.
    hv = source("camden-hv", "health", health_org("HV-1", "Camden Health Visiting"))
    run = feed(hv, OLD_DETAILS | {"source_record_id": "HV-9"}, now=NOW + timedelta(hours=1))
    assert run.children_created == 0 and run.records_linked == 0 and run.rows_held == 1
    assert set(Child.objects.filter(status="live").values_list("cpid", flat=True)) == {new}
    [held] = HeldRecord.objects.all()
    assert held.responsible_la == "202" and held.reason == NEW_IDENTITY_DETAILS
    # Nothing for practitioners: a search for the old name finds nothing new.
    worker = make_person("sam.social").user
    assert find(worker, family="Hartley", birthdate="2015-06-03").hits == ()
    assert find(worker, given="Amelia", family="Hartley", birthdate="2015-06-03").hits == ()
    # Audited for the authority, by counts, naming neither record.
    [entry] = AuditEntry.objects.filter(action="feed.held.new_identity")
    assert entry.actor == "source:camden-hv" and entry.context["la"] == "202"
    assert entry.context["recognised_by"] == "details" and entry.context["rows"] == 1
    assert old not in str(entry.context) + str(entry.subjects) and new not in str(entry.context) + str(entry.subjects)
    # The data manager sees it under "Rows held back", with why, and never the new ContactPoint ID.
    sign_in(client, officer)
    page = client.get("/review/held").content.decode()
    assert "name and date of birth of a record sealed when the child was given a new identity" in page
    assert new not in page and old not in page
    # Sent again: still held. Without an address at all: held too (nothing to tell them apart).
    again = feed(hv, OLD_DETAILS | {"source_record_id": "HV-9", "carer_1_phone": "07700 900999"},
                 now=NOW + timedelta(hours=2))
    assert again.children_created == 0
    bare = {k: v for k, v in OLD_DETAILS.items() if k not in ("address_line_1", "town", "postcode")}
    assert feed(source("camden-yj", "la_social_care", vouched_org("LA-202-YJ", "Camden YOT", "local_authority")),
                bare | {"source_record_id": "YJ-1"}, now=NOW + timedelta(hours=3)).rows_held == 1
    # A system with one field for all her forenames sends "Amelia Rose": held as well.
    assert feed(source("camden-cs", "la_social_care", vouched_org("LA-202-CS", "Camden CS", "local_authority")),
                OLD_DETAILS | {"source_record_id": "CS-1", "given_name": "Amelia Rose"},
                now=NOW + timedelta(hours=4)).rows_held == 1
    assert set(Child.objects.filter(status="live").values_list("cpid", flat=True)) == {new}


def test_another_child_of_the_same_name_and_birthday_elsewhere_is_taken_in():
    officer = make_person("dana.data", role="data-manager", org="LA-202").user
    _new_identity_made(officer)
    elsewhere = OLD_DETAILS | {"source_record_id": "GP-5", "address_line_1": "4 Mill Lane", "town": "Leeds",
                               "postcode": "LS1 4AP", "carer_1_name": "Jo Hartley"}
    run = feed(source("gp-leeds", "gp_registrations", health_org("GP-B86001", "Leeds Practice")), elsewhere)
    assert run.children_created == 1 and run.rows_held == 0


def test_guards_made_before_they_held_names_are_completed_by_the_command():
    officer = make_person("dana.data", role="data-manager", org="LA-202").user
    _new_identity_made(officer)
    from contactpoint.vault import blindindex as bi

    names = [g.pk for g in NewIdentityGuard.objects.all() if bi.index_number(g.token) == bi.FAMILY_DOB.number]
    assert names  # made with the new identity
    NewIdentityGuard.objects.filter(pk__in=names).delete()  # as guards were before this release
    assert NewIdentityGuard.objects.exists()  # the identifiers' tokens stay
    call_command("lifecycle", "guard-new-identities")
    assert notices.guard_earlier_new_identities(get_keyring()) == 0  # complete: nothing more to add
    run = feed(source("camden-hv", "health", health_org("HV-1", "Camden Health Visiting")),
               OLD_DETAILS | {"source_record_id": "HV-9"})
    assert run.children_created == 0 and run.rows_held == 1


def test_a_data_manager_typing_the_old_details_by_hand_is_held_too():
    from contactpoint.ingest import manual

    officer = make_person("dana.data", role="data-manager", org="LA-202").user
    _new_identity_made(officer)
    other = make_person("desmond.data", role="data-manager", org="LA-202").user
    made = manual.create_child(other, OLD_DETAILS, submission="by-hand-0001", keyring=get_keyring(), now=NOW)
    assert made.outcome == manual.Outcome.HELD and made.cpid is None
    assert Child.objects.filter(status="live").count() == 1
