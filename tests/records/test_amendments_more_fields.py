"""A local authority completes the rest of a record (issue 19): the ULN (an identifier: four eyes), the parents and
carers, the educational setting and the GP practice. Each amended value carries the authority's provenance,
outlasts a feed repeating the old value, makes a disagreeing source check its record, and is retired by a newer
agreeing one; the setting and the GP, like the address, are withheld for a shielded child."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest
from django.core.management import CommandError, call_command

from contactpoint.bestview.models import Discrepancy
from contactpoint.children.models import Child
from contactpoint.children.store import load_record
from contactpoint.errors import LifecycleError
from contactpoint.lifecycle import education
from contactpoint.records import amendments
from contactpoint.records.models import Amendment
from tests.lifecycle.support import COLUMNS, at, now, people, row, send, source

DB = pytest.mark.django_db
DAY = date(2026, 3, 2)
ULN = "1234567899"  # a valid check digit
OTHER_ULN = "5556667771"


def feed(**rows: dict[str, str]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=[*COLUMNS, "uln", "carer_2_name", "carer_2_relationship",
                                                    "carer_2_parental_responsibility"])
    writer.writeheader()
    for source_record_id, values in rows.items():
        writer.writerow({"source_record_id": source_record_id, **values})
    return out.getvalue().encode()


def school_row(**more: str) -> dict[str, str]:
    return row(uln=OTHER_ULN, setting_urn="100001", setting_name="Agar Grove Primary",
               setting_start_date="2016-09-05", gp_practice_code="F83004", gp_practice_name="Camden Health Centre",
               **more)


def _one_child(**more: str):
    """A child a school census holds (with a ULN, a setting, a GP and a mother), in Camden (LA 202)."""
    school = source("school-test", "school_census")
    send(school, feed(**{"S-1": school_row(**more)}))
    return school, Child.objects.get()


def _record(ring, child: Child):
    child.refresh_from_db()
    return load_record(ring, child)


def _open(field: str) -> list[str]:
    return [d.source for d in Discrepancy.objects.filter(field=field, closed_at__isnull=True)]


CASES = {
    "carers": ({"carer_1_name": "Sarah Hartley", "carer_1_relationship": "mother",
                "carer_1_parental_responsibility": "yes", "carer_1_phone": "07700 900123",
                "carer_2_name": "Tom Hartley", "carer_2_relationship": "father",
                "carer_2_parental_responsibility": "yes"},
               lambda r: [(c.value.name, c.value.relationship) for c in r.carers],
               [("Sarah Hartley", "mother"), ("Tom Hartley", "father")],
               {"carer_2_name": "Tom Hartley", "carer_2_relationship": "father",
                "carer_2_parental_responsibility": "yes"}),
    "education": ({"setting_urn": "100002", "setting_name": "Camden School", "setting_start_date": "2025-09-03"},
                  lambda r: (r.education.value.urn, r.education.value.start_date),
                  ("100002", date(2025, 9, 3)),
                  {"setting_urn": "100002", "setting_name": "CAMDEN SCHOOL", "setting_start_date": "2025-09-03"}),
    "gp": ({"gp_practice_code": "f83010", "gp_practice_name": "Kentish Town Practice"},
           lambda r: r.gp.value.code, "F83010", {"gp_practice_code": "F83010", "gp_practice_name": "Kentish Town"}),
}


@DB
@pytest.mark.parametrize("field", list(CASES))
def test_an_amended_value_has_the_authoritys_provenance_outlasts_the_old_and_flags_a_disagreeing_source(ring, field):
    values, read, expected, agreeing = CASES[field]
    with at(DAY):
        dm1, _, _ = people()
        school, child = _one_child()
        made = amendments.amend(dm1, child.cpid, field, values, "Confirmed with the family.", keyring=ring,
                                now=now())
        assert made.status == Amendment.Status.ACTIVE
        record = _record(ring, child)
        assert read(record) == expected
        item = record.carers[0] if field == "carers" else getattr(record, field)
        assert (item.provenance.source, item.provenance.feed, item.provenance.received) == \
            ("la:202", "amendment:dm.one", DAY)
        assert _open(field) == ["school-test"]  # the school holds something else: asked to check
    with at(DAY + timedelta(days=1)):
        send(school, feed(**{"S-1": school_row(town="Camden Town")}))  # newer, still the old value
        assert read(_record(ring, child)) == expected
        assert _open(field) == ["school-test"]
        assert Amendment.objects.get().status == Amendment.Status.ACTIVE
    with at(DAY + timedelta(days=2)):
        send(school, feed(**{"S-1": {**school_row(), **agreeing}}))  # newer and agreeing: served its purpose
        record = _record(ring, child)
        assert read(record) == expected
        item = record.carers[0] if field == "carers" else getattr(record, field)
        assert item.provenance.source == "school-test"
        assert Amendment.objects.get().status == Amendment.Status.RETIRED
        assert _open(field) == []


@DB
def test_a_uln_change_waits_for_a_second_data_manager_then_wins_and_flags_the_school(ring):
    with at(DAY):
        dm1, dm2, _ = people()
        school, child = _one_child()
        proposed = amendments.amend(dm1, child.cpid, "uln", {"uln": ULN}, "The school's is a sibling's.",
                                    keyring=ring, now=now())
        assert proposed.status == Amendment.Status.PROPOSED
        assert _record(ring, child).uln.value == OTHER_ULN
        with pytest.raises(LifecycleError, match="second data manager"):
            amendments.decide(dm1, proposed.key, approve=True, keyring=ring, now=now())
        assert [a.key for a in amendments.awaiting_approval(dm2)] == [proposed.key]
        amendments.decide(dm2, proposed.key, approve=True, keyring=ring, now=now())
        uln = _record(ring, child).uln
        assert (uln.value, uln.provenance.source) == (ULN, "la:202")
        assert _open("uln") == ["school-test"]
    with at(DAY + timedelta(days=1)):
        send(school, feed(**{"S-1": school_row(town="Camden Town")}))
        assert _record(ring, child).uln.value == ULN
        # The report never passes the authority's identifier on.
        from contactpoint.bestview.discrepancies import report
        [item] = [i for i in report("school-test", keyring=ring) if i.field == "uln"]
        assert ULN not in item.message and OTHER_ULN not in item.message


@DB
def test_a_setting_entered_by_the_authority_takes_a_child_off_the_missing_education_list(ring):
    with at(DAY):
        dm1, _, _ = people()
        gp = source("gp-test", "gp_registrations")
        send(gp, feed(**{"G-1": row()}))  # born 2012: of school age, and no source places them
        child = Child.objects.get()
        assert [m.cpid for m in education.missing("202", keyring=ring, today=DAY)] == [child.cpid]
        amendments.amend(dm1, child.cpid, "education", {"setting_urn": "100002", "setting_name": "Camden School"},
                         "Enrolled last week; the school confirmed.", keyring=ring, now=now())
        assert education.missing("202", keyring=ring, today=DAY) == []


@DB
@pytest.mark.parametrize("field", ["uln", "carers", "education", "gp"])
def test_a_shielded_childs_withheld_values_cannot_be_changed(ring, field):
    with at(DAY):
        dm1, _, _ = people()
        _, child = _one_child()
        Child.objects.filter(pk=child.pk).update(shielded=True)
        values = {"uln": {"uln": ULN}, "carers": CASES["carers"][0], "education": CASES["education"][0],
                  "gp": CASES["gp"][0]}[field]
        with pytest.raises(LifecycleError, match="shielded"):
            amendments.amend(dm1, child.cpid, field, values, "A reason.", keyring=ring, now=now())
        assert not Amendment.objects.exists()


@DB
def test_the_command_takes_the_new_fields(ring):
    with at(DAY):
        people()
        _, child = _one_child()
        out = io.StringIO()
        call_command("amend", "change", child.cpid, "carers", "--set", "carer_1_name=Sarah Hartley", "--set",
                     "carer_1_parental_responsibility=yes", "--set", "carer_2_name=Tom Hartley", "--reason",
                     "Father's details.", "--as", "dm.one", stdout=out)
        call_command("amend", "change", child.cpid, "gp", "--set", "gp_practice_code=F83010", "--set",
                     "gp_practice_name=Kentish Town Practice", "--reason", "Registered.", "--as", "dm.one",
                     stdout=out)
        call_command("amend", "change", child.cpid, "uln", "--set", f"uln={ULN}", "--reason", "College.",
                     "--as", "dm.one", stdout=out)
        assert "Awaiting approval" in out.getvalue() and "Tom" not in out.getvalue() and ULN not in out.getvalue()
        record = _record(ring, child)
        assert [c.value.name for c in record.carers] == ["Sarah Hartley", "Tom Hartley"]
        assert record.gp.value.code == "F83010" and record.uln.value == OTHER_ULN
        with pytest.raises(CommandError, match="NAME one of setting_urn"):
            call_command("amend", "change", child.cpid, "education", "--set", "urn=100002", "--reason", "x",
                         "--as", "dm.one")
