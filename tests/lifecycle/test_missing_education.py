"""Children missing education (issue 19): a data manager's list of the school-age children their authority is
responsible for whom no source places in an educational setting; on a fixed clock."""

from __future__ import annotations

import io
import re
from datetime import date

import pytest
from django.core.management import call_command

from contactpoint.audit.models import AuditEntry
from contactpoint.children.models import Child
from contactpoint.children.record import EducationSetting
from contactpoint.children.store import NewChild, create_children, shred
from contactpoint.cli import ALIASES
from contactpoint.errors import PermissionDenied
from contactpoint.lifecycle import education
from contactpoint.lifecycle.models import HandOver
from contactpoint.records import amendments
from tests.api.clients import bearer, open_token
from tests.factories import make_person, make_record
from tests.lifecycle.support import at, born, feed, now, people, row, send, source
from tests.lifecycle.test_moves import _signed_in

pytestmark = pytest.mark.django_db

TODAY = date(2021, 10, 1)
SCHOOL = {"setting_urn": "100001", "setting_name": "Agar Grove Primary", "setting_start_date": "2016-09-05"}


def _cpids(user, ring):
    shown, total = education.missing_page(user, keyring=ring, now=now())
    assert total == len(shown)
    return [m.cpid for m in shown]


def _world(ring):
    dm, _dm2, worker = people()
    benefit, school = source("child-benefit-test", "child_benefit"), source("school-census-test", "school_census")
    send(benefit, feed(**{"CB-1": row()}))  # Amelia, 9: no source places her
    [amelia] = Child.objects.values_list("cpid", flat=True)
    toddler = born(date(2018, 1, 1), given="Tia")  # 3: not yet of compulsory school age
    leaver = born(date(2004, 3, 1), given="Lee")  # 17: past the last Friday of June the year he turned 16
    older = born(date(2010, 1, 5), given="Ola")  # 11: no setting, of school age for longer than Amelia
    [placed] = create_children(ring, [NewChild(make_record(given="Pia", dob=date(2014, 2, 2), nhs=None,
                                                           education=EducationSetting("100001", "Agar Grove")),
                                               responsible_la="202")], now=now())
    return dm, worker, school, amelia, older, toddler, leaver, placed.cpid


def test_school_age_children_with_no_setting_are_listed_longest_first_and_others_are_not(ring):
    with at(TODAY):
        dm, _worker, _school, amelia, older, toddler, leaver, placed = _world(ring)
        shown, total = education.missing_page(dm, keyring=ring, now=now())
        assert [m.cpid for m in shown] == [older, amelia] and total == 2
        assert (shown[1].name, shown[1].date_of_birth, shown[1].since) == ("Amelia Hartley", date(2012, 5, 20),
                                                                          date(2017, 8, 31))
        assert shown[0].since == date(2015, 3, 31)
        for absent in (toddler, leaver, placed):
            assert absent not in [m.cpid for m in shown]
        # Another authority's data manager sees none of them.
        assert _cpids(make_person("isla.data", role="data-manager", org="LA-206").user, ring) == []


def test_a_school_census_row_takes_a_child_off_the_list_and_a_withdrawn_setting_puts_her_back(ring):
    with at(TODAY):
        dm, _worker, school, amelia, older, *_ = _world(ring)
        send(school, feed(**{"UPN-1": row(**SCHOOL)}))
        assert _cpids(dm, ring) == [older]
    with at(date(2021, 11, 1)):  # the school's next census sends her with no setting: it ended, none new
        send(school, feed(**{"UPN-1": row()}))
        assert amelia in _cpids(dm, ring)


def test_the_list_and_its_export_are_audited_naming_the_children_and_need_a_data_manager(ring):
    with at(TODAY):
        dm, worker, _school, amelia, older, *_ = _world(ring)
        education.missing_page(dm, keyring=ring, now=now())
        viewed = AuditEntry.objects.filter(action="lifecycle.missing_education.viewed").last()
        assert viewed.subjects == [older, amelia] and viewed.actor == dm.username
        exported = education.missing_csv(dm, keyring=ring, now=now())
        lines = exported.splitlines()
        assert lines[0] == ",".join(education.CSV_COLUMNS)
        assert lines[2] == f"{amelia},Amelia Hartley,2012-05-20,2017-08-31,{(TODAY - date(2017, 8, 31)).days}"
        assert "NW1" not in exported and "Agar" not in exported  # never whereabouts
        entry = AuditEntry.objects.filter(action="lifecycle.missing_education.exported").last()
        assert entry.subjects == [older, amelia]
        with pytest.raises(PermissionDenied):
            education.missing_page(worker, keyring=ring, now=now())


def test_a_shielded_child_is_listed_without_whereabouts(ring):
    with at(TODAY):
        dm, *_ = people()
        [child] = create_children(ring, [NewChild(make_record(given="Sia", dob=date(2013, 3, 3), nhs=None),
                                                  responsible_la="202", shielded=True)], now=now())
        [m] = education.missing_page(dm, keyring=ring, now=now())[0]
        assert m.cpid == child.cpid and "NW1" not in repr(m)


def test_pages_of_the_list(ring):
    with at(TODAY):
        dm, *_ = people()
        made = create_children(ring, [NewChild(make_record(given=f"Kid{n}", dob=date(2013, 1, 1 + n), nhs=None),
                                               responsible_la="202") for n in range(5)], now=now())
        first, total = education.missing_page(dm, keyring=ring, now=now(), page=1, size=2)
        third, _ = education.missing_page(dm, keyring=ring, now=now(), page=3, size=2)
        assert total == 5 and len(first) == 2 and len(third) == 1
        assert {m.cpid for m in first} | {m.cpid for m in third} < {c.cpid for c in made}


def test_the_page_and_the_download(ring):
    with at(TODAY):
        person = make_person("dm.pages", role="data-manager")
        dm, _worker, _school, amelia, older, *_ = _world(ring)
        client = _signed_in(person)
        page = client.get("/lifecycle/missing-education")
        assert page.status_code == 200
        text = page.content.decode()
        assert text.index("Ola Hartley") < text.index("Amelia Hartley") and "Tia Hartley" not in text
        assert not re.search(r"\bNW1\b", text)  # a whole word: a CSRF token may hold it by chance
        viewed = AuditEntry.objects.filter(action="lifecycle.missing_education.viewed").last()
        assert viewed.subjects == [older, amelia] and viewed.actor == "dm.pages"
        download = client.get("/lifecycle/missing-education.csv")
        assert download.status_code == 200 and download["Content-Type"].startswith("text/csv")
        assert amelia in download.content.decode()
        assert AuditEntry.objects.filter(action="lifecycle.missing_education.exported").last().actor == "dm.pages"


def test_the_command_lists_for_a_named_data_manager_and_writes_the_csv(ring):
    assert ALIASES["missing-education"] == "missing_education"
    with at(TODAY):
        dm, _worker, _school, amelia, older, *_ = _world(ring)
        out = io.StringIO()
        call_command("missing_education", "--as", dm.username, stdout=out)
        assert out.getvalue().startswith("2 children missing education")
        assert out.getvalue().index(older) < out.getvalue().index(amelia)
        out = io.StringIO()
        call_command("missing_education", "--as", dm.username, "--csv", stdout=out)
        assert out.getvalue().splitlines()[0] == ",".join(education.CSV_COLUMNS)
        assert AuditEntry.objects.filter(action="lifecycle.missing_education.exported").last().actor == dm.username


def test_the_api_gives_the_same_list_to_a_data_manager(ring, client):
    with at(TODAY):
        person = make_person("dm.api", role="data-manager")
        _dm, _worker, _school, amelia, older, *_ = _world(ring)
        answer = client.get("/api/v1/missing-education", **bearer(open_token(client, person)))
        assert answer.status_code == 200
        body = answer.json()
        assert body["total"] == 2 and [c["contactpoint_id"] for c in body["children"]] == [older, amelia]
        assert body["children"][1]["missing_since"] == "2017-08-31" and "NW1" not in answer.content.decode()
        viewed = AuditEntry.objects.filter(action="lifecycle.missing_education.viewed").last()
        assert viewed.actor == "dm.api" and viewed.subjects == [older, amelia]


# --- the list pages in the database, and its clear window stays true (issue 19: it must scale) -----------------

def _window(cpid: str) -> tuple:
    return tuple(Child.objects.filter(cpid=cpid).values_list("education_missing_from", "education_missing_until")
                 .get())


def test_a_page_opens_only_the_children_it_shows(ring, monkeypatch):
    with at(TODAY):
        dm, *_ = people()
        create_children(ring, [NewChild(make_record(given=f"Kid{n}", dob=date(2013, 1, 1 + n % 28), nhs=None),
                                        responsible_la="202") for n in range(12)], now=now())
        create_children(ring, [NewChild(make_record(given=f"Pupil{n}", dob=date(2013, 2, 1 + n), nhs=None,
                                                    education=EducationSetting("100001", "Agar Grove")),
                                        responsible_la="202") for n in range(20)], now=now())
        opened = []
        real = education.load_groups
        monkeypatch.setattr(education, "load_groups", lambda *a, **k: opened.append(a[1].cpid) or real(*a, **k))
        shown, total = education.missing_page(dm, keyring=ring, now=now(), page=2, size=5)
        assert total == 12 and len(shown) == 5
        assert sorted(opened) == sorted(m.cpid for m in shown)  # not the other 27 children of the authority
        assert education.count_missing("202", today=TODAY) == 12


def test_the_window_follows_feeds_amendments_merges_splits_moves_archive_and_deletion(ring):
    with at(TODAY):
        dm, *_ = people()
        benefit, school = source("child-benefit-test", "child_benefit"), source("school-census-test", "school_census")
        send(benefit, feed(**{"CB-1": row()}))  # Amelia, born 20 May 2012: no setting
        [amelia] = Child.objects.values_list("cpid", flat=True)
        assert _window(amelia) == (date(2017, 8, 31), date(2028, 6, 30))  # coarse: prescribed day, last Friday
        send(school, feed(**{"UPN-1": row(**SCHOOL)}))
        assert _window(amelia) == (None, None)
        send(school, feed(**{"UPN-1": row()}))  # the census withdraws the setting
        assert _window(amelia) != (None, None)
        made = amendments.amend(dm, amelia, "education", {"setting_urn": "100002", "setting_name": "Camden School"},
                                "Enrolled.", keyring=ring, now=now())
        assert _window(amelia) == (None, None) and education.count_missing("202", today=TODAY) == 0
        amendments.withdraw(dm, made.key, keyring=ring, now=now())
        assert _window(amelia) != (None, None) and education.count_missing("202", today=TODAY) == 1
        # A move: the authority's list loses her, the new one's gains her (the clear responsible LA).
        Child.objects.filter(cpid=amelia).update(responsible_la="206")
        HandOver.objects.create(child=Child.objects.get(cpid=amelia), from_la="202", to_la="206", at=now(),
                                how="feed")
        assert (education.count_missing("202", today=TODAY), education.count_missing("206", today=TODAY)) == (0, 1)
        Child.objects.filter(cpid=amelia).update(responsible_la="202")
        # Archived, merged or deleted: off the list by status or row.
        for status in ("archived", "merged", "sealed"):
            Child.objects.filter(cpid=amelia).update(status=status)
            assert education.count_missing("202", today=TODAY) == 0
        Child.objects.filter(cpid=amelia).update(status="live")
        shred(Child.objects.get(cpid=amelia))
        assert education.count_missing("202", today=TODAY) == 0
    with at(date(2028, 7, 1)):  # past the last Friday in June of the year she turned 16
        older = born(date(2012, 5, 20), given="Ola")
        assert education.count_missing("202", today=date(2028, 7, 1)) == 0 and _window(older)[0] is not None


def test_the_windows_of_records_sealed_before_they_were_kept_are_filled_by_a_command(ring):
    with at(TODAY):
        dm, _worker, _school, amelia, older, *_ = _world(ring)
        Child.objects.update(education_missing_from=None, education_missing_until=None)  # as before the migration
        assert education.count_missing("202", today=TODAY) == 0
        out = io.StringIO()
        call_command("lifecycle", "education-gaps", stdout=out)
        assert out.getvalue().strip() == "4 record(s) hold no educational setting"  # with the toddler and leaver
        assert _cpids(dm, ring) == [older, amelia]
