"""One source's bad or missing value costs that value, never the child (DESIGN.md section 1): the row is matched
on what it has, the value is an item for its source until corrected, and a row too thin to make a child is held,
not dropped, and taken in as soon as it can be."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
from django.core.management import call_command

from contactpoint.audit.models import AuditEntry
from contactpoint.bestview.models import Discrepancy
from contactpoint.children.models import Child, HeldRecord, SourceRecord
from contactpoint.children.store import load_record
from contactpoint.ingest.held import open_held
from contactpoint.lifecycle.rotation import rotate_keys
from contactpoint.vault.keyring import get_keyring
from tests.factories import make_person, sign_in, vouched_org
from tests.ingest.test_candidates import child_id_of
from tests.matching.test_review import AMELIA, GP_ROW, NOW, feed, health_org, source

pytestmark = pytest.mark.django_db

BENEFIT_ROW = AMELIA | {"source_record_id": "CHB-1", "nhs_number": "9434765919"}


def _gp():
    return source("gp-camden", "gp_registrations", health_org())


def _benefit():
    return source("child-benefit", "child_benefit", vouched_org("CP-NATIONAL-2", "Child Benefit", "national"))


def _items(src, kind=Discrepancy.Kind.INVALID, open_only=True):
    found = Discrepancy.objects.filter(source=src.code, kind=kind)
    return list(found.filter(closed_at__isnull=True) if open_only else found)


def test_a_row_without_a_date_of_birth_links_through_its_nhs_number_and_the_gap_is_an_item_for_its_source():
    feed(_benefit(), BENEFIT_ROW, now=NOW - timedelta(days=1))
    gp = _gp()
    run = feed(gp, GP_ROW | {"date_of_birth": ""})
    assert run.rows_refused == 0 and run.rows_held == 0 and run.records_linked == 1
    assert child_id_of(gp.code, "GP-1") == child_id_of("child-benefit", "CHB-1")
    [item] = _items(gp)
    assert item.field == "date_of_birth" and item.reason.startswith("required")


def test_a_feed_exported_from_a_spreadsheet_with_dates_day_first_links_its_children_on_their_birthdays():
    """03/06/2015 is the third of June: Amelia's GP record, written as Excel writes a UK date (and without its
    NHS number), still links to her child benefit record, and no one is asked to correct a date."""
    feed(_benefit(), BENEFIT_ROW, now=NOW - timedelta(days=1))
    gp = _gp()
    run = feed(gp, GP_ROW | {"date_of_birth": "03/06/2015 00:00", "nhs_number": ""})
    assert run.rows_refused == 0 and run.rows_held == 0 and run.records_linked == 1
    assert child_id_of(gp.code, "GP-1") == child_id_of("child-benefit", "CHB-1")
    assert _items(gp) == []


@pytest.mark.parametrize("placeholder", ["0000000000", "999 999 9999", "4444444444"])
def test_a_placeholder_nhs_number_does_not_make_sisters_one_child(placeholder):
    """Every repeated digit passes modulus 11. A system that writes 0000000000 for an unknown NHS number sends it
    for many children: taken as their identifier, it joined Amelia and her sister Isla (one home, one family
    name) into one child."""
    feed(_benefit(), BENEFIT_ROW | {"nhs_number": placeholder}, now=NOW - timedelta(days=1))
    gp = _gp()
    run = feed(gp, GP_ROW | {"given_name": "Isla", "date_of_birth": "2018-02-11", "nhs_number": placeholder})
    assert run.rows_refused == 0 and run.children_created == 1
    assert child_id_of(gp.code, "GP-1") != child_id_of("child-benefit", "CHB-1")
    [item] = _items(gp)
    assert (item.field, item.reason) == ("nhs_number", "a placeholder, not an NHS number (every digit the same)")


def test_a_bad_nhs_number_costs_the_identifier_and_the_child_still_goes_in():
    gp = _gp()
    run = feed(gp, GP_ROW | {"nhs_number": "9434765918"})
    assert run.rows_refused == 0 and run.children_created == 1
    child = Child.objects.get(pk=child_id_of(gp.code, "GP-1"))
    assert load_record(get_keyring(), child).nhs_number is None
    [item] = _items(gp)
    assert (item.field, item.reason) == ("nhs_number", "the NHS number's check digit is wrong (modulus 11)")


def test_an_item_closes_when_the_source_corrects_the_value_and_sending_the_fault_again_changes_nothing():
    gp = _gp()
    feed(gp, GP_ROW | {"nhs_number": "9434765918"})
    another = GP_ROW | {"source_record_id": "GP-2", "given_name": "Zara", "nhs_number": "",
                        "date_of_birth": "2012-02-20"}
    again = feed(gp, GP_ROW | {"nhs_number": "9434765918"}, another, now=NOW + timedelta(days=1))
    assert again.rows_unchanged == 1 and len(_items(gp)) == 1
    feed(gp, GP_ROW, now=NOW + timedelta(days=2))
    assert _items(gp) == []
    [closed] = _items(gp, open_only=False)
    assert closed.closed_reason == "source corrected it"


def test_a_row_that_links_to_no_child_and_has_no_date_of_birth_is_held_not_dropped():
    gp = _gp()
    run = feed(gp, GP_ROW | {"date_of_birth": ""})
    assert run.rows_refused == 0 and run.rows_held == 1 and run.children_created == 0
    [held] = HeldRecord.objects.all()
    assert held.reason == "linked to no child, and with no date of birth a new child cannot be made"
    assert held.responsible_la == "202" and held.line == 2
    assert held.flags == [["date_of_birth", "required: the child's date of birth"]]
    row = open_held(get_keyring(), held)
    assert (row.name.given, row.nhs_number, row.date_of_birth) == ("Amelia", "9434765919", None)
    # Sent again as it was (in another file): nothing changes.
    another = GP_ROW | {"source_record_id": "GP-2", "given_name": "Zara", "nhs_number": "",
                        "date_of_birth": "2012-02-20"}
    again = feed(gp, GP_ROW | {"date_of_birth": ""}, another, now=NOW + timedelta(days=1))
    assert again.rows_unchanged == 1 and again.rows_held == 0 and HeldRecord.objects.count() == 1


def test_a_held_row_is_taken_in_when_a_record_with_its_identifier_arrives_from_another_source():
    gp = _gp()
    feed(gp, GP_ROW | {"date_of_birth": ""})
    run = feed(_benefit(), BENEFIT_ROW, now=NOW + timedelta(days=1))
    assert run.children_created == 1
    assert HeldRecord.objects.count() == 0
    assert child_id_of(gp.code, "GP-1") == child_id_of("child-benefit", "CHB-1")
    [item] = _items(gp)  # still without its date of birth: the GP is asked for it
    assert item.field == "date_of_birth"


def test_a_held_row_without_an_identifier_is_taken_in_when_its_names_arrive_at_its_postcode():
    gp = _gp()
    feed(gp, GP_ROW | {"date_of_birth": "", "nhs_number": ""})
    assert HeldRecord.objects.count() == 1
    run = feed(_benefit(), BENEFIT_ROW | {"nhs_number": ""}, now=NOW + timedelta(days=1))
    assert run.children_created == 1 and HeldRecord.objects.count() == 0
    assert child_id_of(gp.code, "GP-1") == child_id_of("child-benefit", "CHB-1")


def test_a_held_row_sent_again_with_what_it_lacked_makes_its_child():
    gp = _gp()
    feed(gp, GP_ROW | {"date_of_birth": ""})
    run = feed(gp, GP_ROW, now=NOW + timedelta(days=1))
    assert run.children_created == 1 and HeldRecord.objects.count() == 0
    assert SourceRecord.objects.filter(source=gp.code).count() == 1
    assert _items(gp) == []


def test_a_changed_row_that_lost_its_date_of_birth_keeps_the_one_its_record_held():
    gp = _gp()
    feed(gp, GP_ROW)
    child = Child.objects.get(pk=child_id_of(gp.code, "GP-1"))
    feed(gp, GP_ROW | {"date_of_birth": "", "town": "Camden"}, now=NOW + timedelta(days=1))
    child.refresh_from_db()
    record = load_record(get_keyring(), child)
    assert record.date_of_birth.value.isoformat() == GP_ROW["date_of_birth"]
    assert record.whereabouts.value.address.town == "Camden"
    [item] = _items(gp)
    assert item.field == "date_of_birth"


def test_key_rotation_rewraps_held_rows_so_they_can_still_be_opened():
    gp = _gp()
    feed(gp, GP_ROW | {"date_of_birth": ""})
    ring = get_keyring()
    old = HeldRecord.objects.get().kek_id
    rotate_keys(ring)
    held = HeldRecord.objects.get()
    assert held.kek_id != old and held.kek_id == ring.active_kek_id
    assert open_held(ring, held).name.family == "Hartley"


# --- what data managers see -----------------------------------------------------------------------------------


def test_a_data_manager_reads_the_rows_held_for_their_authority_and_that_is_audited(client):
    feed(_gp(), GP_ROW | {"date_of_birth": "", "nhs_number": "9434765918"})
    dana = make_person("dana.data", role="data-manager", org="LA-202")
    sign_in(client, dana)
    response = client.get("/review/held")
    assert response.status_code == 200
    html = response.content.decode()
    assert "1 row held for your local authority" in html and "Amelia Hartley" in html
    assert "gp-camden, line 2" in html
    assert "Linked to no child, and with no date of birth a new child cannot be made." in html
    assert "Not known" in html
    assert "the NHS number&#39;s check digit is wrong" in html or "the NHS number's check digit is wrong" in html
    assert 'href="/review/held"' in html  # in the service navigation
    assert AuditEntry.objects.filter(action="feed.held.opened", actor="dana.data").count() == 1


def test_another_authoritys_data_manager_sees_none_of_them_and_a_practitioner_is_refused(client):
    feed(_gp(), GP_ROW | {"date_of_birth": ""})
    sign_in(client, make_person("ola.other", role="data-manager", org="LA-203"))
    assert "0 rows held" in client.get("/review/held").content.decode()
    assert "Amelia" not in client.get("/review/held").content.decode()
    client.logout()
    sign_in(client, make_person("sam.social"))
    assert client.get("/review/held").status_code == 403


def test_the_command_lists_the_held_rows_as_a_named_data_manager():
    feed(_gp(), GP_ROW | {"date_of_birth": ""})
    make_person("dana.data", role="data-manager", org="LA-202")
    out = io.StringIO()
    call_command("held", "--as", "dana.data", stdout=out)
    text = out.getvalue()
    assert "1 row(s) held for local authority 202" in text
    assert "gp-camden line 2: Amelia Hartley, date of birth not known" in text
    assert "date_of_birth: required" in text


def test_a_shielded_childs_row_without_a_date_of_birth_from_a_new_address_joins_her_and_is_never_listed_held():
    """The row carries the refuge's address: held, it would be listed to that area's data managers. Found through
    the match-only NHS index, it joins the shielded child, and the held-row report has nothing of it."""
    gp = _gp()
    feed(gp, GP_ROW)
    Child.objects.filter(pk=child_id_of(gp.code, "GP-1")).update(shielded=True)
    refuge = {"address_line_1": "1 Refuge Road", "town": "Leeds", "postcode": "LS1 4AP"}
    run = feed(_benefit(), BENEFIT_ROW | refuge | {"date_of_birth": ""}, now=NOW + timedelta(days=1))
    assert run.records_linked == 1 and run.rows_held == 0
    assert child_id_of("child-benefit", "CHB-1") == child_id_of(gp.code, "GP-1")
    assert not HeldRecord.objects.exists()


def test_a_row_held_a_year_is_deleted_by_the_lifecycle_run_with_its_key_and_tokens_and_audited():
    from contactpoint.children.models import HeldToken
    from contactpoint.lifecycle.run import run

    gp = _gp()
    feed(gp, GP_ROW | {"date_of_birth": ""})  # held on 24 November 2026
    feed(gp, GP_ROW | {"source_record_id": "GP-2", "nhs_number": "", "given_name": "Zara", "date_of_birth": ""},
         now=NOW + timedelta(days=30))
    assert HeldRecord.objects.count() == 2 and HeldToken.objects.exists()
    ring = get_keyring()

    day_before = run(ring, today=date(2027, 11, 23), now=NOW + timedelta(days=364))
    assert day_before.held_deleted == 0 and HeldRecord.objects.count() == 2
    report = run(ring, today=date(2027, 11, 24), now=NOW + timedelta(days=365))

    assert report.held_deleted == 1 and "held rows deleted: 1" in report.lines()
    [kept] = HeldRecord.objects.all()
    assert open_held(ring, kept).name.given == "Zara"
    assert set(HeldToken.objects.values_list("held_id", flat=True)) <= {kept.pk}
    [entry] = AuditEntry.objects.filter(action="lifecycle.held.deleted")
    assert entry.context == {"responsible_la": "202", "count": 1, "held_for_years": 1}
    # Sent again after that (in a later file), it is held again from that day: the source still has it to correct.
    another = GP_ROW | {"source_record_id": "GP-3", "given_name": "Ayo", "nhs_number": ""}
    again = feed(gp, GP_ROW | {"date_of_birth": ""}, another, now=NOW + timedelta(days=366))
    assert again.rows_held == 1 and HeldRecord.objects.count() == 2


def test_a_row_without_a_date_of_birth_finds_its_child_at_an_address_another_source_still_holds():
    """Amelia's GP knows her at her old home; her school, later, at the new one, which the best view shows. Child
    benefit's row has no date of birth and the old address: it looks up her names at the old postcode. The child
    used to be indexed at the best view's postcode alone, so the row found no child and was held (at 100,000
    generated records, one held row in three had a name at a postcode that a record of its own child held)."""
    feed(_gp(), GP_ROW, now=NOW - timedelta(days=2))
    school = source("agar-grove", "school_census", vouched_org())
    moved = {"address_line_1": "3 Kings Road", "town": "Leeds", "postcode": "LS6 2AB"}
    feed(school, AMELIA | moved | {"source_record_id": "S-1", "setting_urn": "100001",
                                   "setting_name": "Kings Road Primary"}, now=NOW - timedelta(days=1))
    child = Child.objects.get(pk=child_id_of("gp-camden", "GP-1"))
    record = load_record(get_keyring(), child)
    assert record.postcode == "LS6 2AB" and record.other_postcodes == ("NW1 8NP",)

    run = feed(_benefit(), BENEFIT_ROW | {"nhs_number": "", "date_of_birth": ""})
    assert run.rows_held == 0 and run.records_linked == 1
    assert child_id_of("child-benefit", "CHB-1") == child.pk
