"""Issue 18: a home page each role would choose to use. A data manager, an auditor and an administrator each see
what is waiting for them first, counted and linked, scoped to what they may see, with "nothing waiting" when
nothing is; a user whose role holds several of these sees each section; and no home page names a child."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from lxml import html as lxml_html

from contactpoint.access.models import LoginThrottle
from contactpoint.access.roles import ROLES_BY_CODE, Permission, Role
from tests.factories import make_person, sign_in, vouched_org

pytestmark = pytest.mark.django_db


def _client(person) -> Client:
    client = Client()
    assert sign_in(client, person).status_code == 302
    return client


def said(element) -> str:
    """An element's words as they read (its pieces of text apart, as a line break shows them)."""
    return " ".join(" ".join(element.itertext()).split()).replace(" ,", ",")


def home(client) -> dict[str, tuple[str, str]]:
    """The home page's summary rows: what is counted -> (what it says, where its link goes)."""
    response = client.get("/home")
    assert response.status_code == 200
    tree = lxml_html.fromstring(response.content.decode())
    rows = {}
    for row in tree.xpath("//main//div[contains(@class, 'govuk-summary-list__row')]"):
        key = said(row.xpath(".//dt")[0])
        value = said(row.xpath(".//dd[contains(@class, '__value')]")[0])
        link = row.xpath(".//dd[contains(@class, '__actions')]//a/@href")
        rows[key] = (value, link[0] if link else "")
    return rows


def main_text(client) -> str:
    tree = lxml_html.fromstring(client.get("/home").content.decode())
    return " ".join(tree.xpath("string(//main)").split())


def _shield(child, by, *, status="proposed", review_on=None):
    from contactpoint.lifecycle.models import ShieldDecision

    return ShieldDecision.objects.create(key=uuid.uuid4().hex, child=child, kind="shield", status=status,
                                         responsible_la=child.responsible_la, proposed_by=by,
                                         proposed_at=timezone.now(), review_on=review_on, payload=b"")


# --- a data manager ---------------------------------------------------------------------------------------------

def test_a_data_manager_with_nothing_waiting_is_told_so_for_each_task_with_its_link():
    rows = home(_client(make_person("dana.data", role="data-manager")))
    assert rows == {
        "Shielding proposals for you to approve": ("Nothing waiting", "/lifecycle"),
        "Shielding reviews due": ("Nothing waiting", "/lifecycle"),
        "Requests to open a sealed record": ("Nothing waiting", "/lifecycle"),
        "Requests to be put in touch": ("Nothing waiting", "/la/contact-requests"),
        "Possible matches to review": ("Nothing waiting", "/review"),
        "Rows held back from matching": ("Nothing waiting", "/review/held"),
        "Open discrepancies with your sources": ("Nothing waiting", "/discrepancies"),
        "Identifier changes for you to approve": ("Nothing waiting", "/record-changes"),
        "Reported moves awaiting a decision": ("Nothing waiting", "/lifecycle/moves"),
        "Hand-over notices you have not seen": ("Nothing waiting", "/lifecycle/moves"),
        "Children missing education": ("Nothing waiting", "/lifecycle/missing-education"),
    }


def test_a_data_manager_is_offered_creating_a_record_for_a_child_no_source_knows():
    page = _client(make_person("dana.data", role="data-manager")).get("/home").content.decode()
    assert 'href="/records/new">Create a child\'s record</a>' in page
    practitioner = _client(make_person()).get("/home").content.decode()
    assert "/records/new" not in practitioner


def _camden_work():
    """A review pair, a held row and four discrepancies (from a GP and a school), all Camden's."""
    from contactpoint.matching.models import ReviewItem
    from tests.matching.test_review import AMELIA, NOW, feed, health_org, source
    from tests.web.test_review_pages import _school_items

    amelia = _school_items()
    bella = AMELIA | {"given_name": "Bella", "family_name": "Rowe", "date_of_birth": "2014-02-11",
                      "address_line_1": "3 Leighton Road", "postcode": "NW5 2QE", "carer_1_name": "Tom Rowe"}
    gp = source("gp-kentish", "gp_registrations", health_org("GP-F83005", "Kentish Town Health Centre"))
    school = source("st-pauls", "school_census", vouched_org("SCH-100002", "St Paul's Primary", "school"))
    feed(gp, bella | {"source_record_id": "GP-7", "nhs_number": "9434765870"}, now=NOW - timedelta(days=1))
    feed(school, bella | {"source_record_id": "S-7", "nhs_number": "4010232137", "setting_urn": "100002",
                          "setting_name": "St Paul's Primary"})
    feed(gp, bella | {"source_record_id": "GP-8", "given_name": "Cleo", "date_of_birth": ""})
    assert ReviewItem.objects.filter(status="open").count() == 1
    return amelia


def test_a_data_manager_sees_their_authoritys_work_counted_and_another_authoritys_data_manager_none_of_it():
    from contactpoint.children.models import Child

    amelia = _camden_work()
    dana, dev = make_person("dana.data", role="data-manager"), make_person("dev.two", role="data-manager")
    evan = Child.objects.exclude(pk=amelia.pk).first()
    _shield(evan, dev.user)  # Dev's proposal: Dana is the second officer
    due = Child.objects.filter(pk=amelia.pk)
    due.update(shielded=True)
    _shield(amelia, dev.user, status="approved", review_on=timezone.localdate() - timedelta(days=1))

    rows = home(_client(dana))
    assert rows["Possible matches to review"] == ("1 pair", "/review")
    assert rows["Rows held back from matching"] == ("1 row", "/review/held")
    assert rows["Open discrepancies with your sources"] == ("4 items From 1 source.", "/discrepancies")
    assert rows["Shielding proposals for you to approve"] == ("1 proposal", "/lifecycle")
    assert rows["Shielding reviews due"] == ("1 review", "/lifecycle")
    # Four eyes: Dev's own proposal waits for someone else, and Dev is told so.
    assert home(_client(dev))["Shielding proposals for you to approve"] == (
        "Nothing waiting 1 of yours is waiting for another data manager.", "/lifecycle")

    # Islington's data manager: none of Camden's work is counted.
    other = home(_client(make_person("isla.data", role="data-manager", org="LA-206")))
    assert {value for value, _ in other.values()} == {"Nothing waiting"}


def test_a_data_manager_sees_identifier_changes_to_approve_moves_to_decide_unread_hand_overs_and_missing_education():
    from contactpoint.children.models import Child
    from contactpoint.lifecycle.models import HandOver, MoveReport
    from contactpoint.records import amendments
    from contactpoint.vault.keyring import get_keyring
    from tests.lifecycle.support import born

    dana, dev = make_person("dana.data", role="data-manager"), make_person("dev.two", role="data-manager")
    isla = make_person("isla.data", role="data-manager", org="LA-206")
    cpid = born(timezone.localdate() - timedelta(days=365 * 9))  # of school age, no setting: missing education
    amendments.amend(dev.user, cpid, "uln", {"uln": "1234567899"}, "From the college.", keyring=get_keyring(),
                     now=timezone.now())
    shielded = Child.objects.get(cpid=born(timezone.localdate() - timedelta(days=365 * 20), shielded=True))
    MoveReport.objects.create(key=uuid.uuid4().hex, child=shielded, responsible_la="202", payload=b"",
                              reported_at=timezone.now())
    child = Child.objects.get(cpid=cpid)
    for to in ("206", "201"):
        HandOver.objects.create(child=child, from_la="202", to_la=to, at=timezone.now(), how="feed")

    dana_home, dev_home = _client(dana), _client(dev)
    rows = home(dana_home)
    assert rows["Identifier changes for you to approve"] == ("1 change", "/record-changes")
    assert rows["Reported moves awaiting a decision"] == ("1 move", "/lifecycle/moves")
    assert rows["Hand-over notices you have not seen"] == ("2 notices", "/lifecycle/moves")
    assert rows["Children missing education"] == ("1 child", "/lifecycle/missing-education")
    # Four eyes: Dev's own proposal waits for someone else.
    assert home(dev_home)["Identifier changes for you to approve"] == (
        "Nothing waiting 1 of yours is waiting for another data manager.", "/record-changes")
    # Seeing "Moves and hand-overs" reads them, for Dana only; a new one is unread again.
    assert dana_home.get("/lifecycle/moves").status_code == 200
    assert home(dana_home)["Hand-over notices you have not seen"] == ("Nothing waiting", "/lifecycle/moves")
    assert home(dev_home)["Hand-over notices you have not seen"] == ("2 notices", "/lifecycle/moves")
    HandOver.objects.create(child=child, from_la="202", to_la="206", at=timezone.now(), how="feed")
    assert home(dana_home)["Hand-over notices you have not seen"] == ("1 notice", "/lifecycle/moves")
    # Islington sees only the hand-overs to it, and none of Camden's other work.
    other = home(_client(isla))
    assert other["Hand-over notices you have not seen"] == ("2 notices", "/lifecycle/moves")
    assert {v for k, (v, _) in other.items() if k != "Hand-over notices you have not seen"} == {"Nothing waiting"}


def test_a_data_managers_home_names_no_child_and_no_whereabouts():
    amelia = _camden_work()
    amelia.__class__.objects.filter(pk=amelia.pk).update(shielded=True)
    page = main_text(_client(make_person("dana.data", role="data-manager")))
    for said in ("Amelia", "Hartley", "Bella", "Rowe", "Cleo", "Agar Grove", "NW1", "NW5", amelia.cpid):
        assert said not in page


# --- an auditor -------------------------------------------------------------------------------------------------

def _alert(org: str, status: str = "open"):
    from contactpoint.monitoring.models import Alert

    now = timezone.now()
    return Alert.objects.create(key=uuid.uuid4().hex, rule="override", title="Overrode shielding",
                                subject_user="olu.police", subject_org=org, occurred_at=now, raised_at=now,
                                status=status)


def test_an_auditor_sees_the_alerts_in_their_area_the_trails_health_and_the_access_reports():
    auditor = _client(make_person("aud.auditor", role="auditor"))
    rows = home(auditor)
    assert rows["New alerts"] == ("Nothing waiting", "/audit?status=open")
    assert rows["Alerts being investigated"] == ("Nothing waiting", "/audit?status=acknowledged")
    assert rows["Last verification"][0] == "Never" and rows["Last checkpoint"][0] == "None yet"
    page = main_text(auditor)
    assert "Who has seen a child's record" in page and "What a user did" in page
    assert "The audit trail has not been verified as intact" in page and "Checkpoints have stopped" in page
    assert "hield" not in page  # shielding work is counted for the data managers who decide it, no one else

    _alert("LA-202"), _alert("LA-202"), _alert("LA-202", "acknowledged"), _alert("LA-206")
    rows = home(auditor)
    assert rows["New alerts"][0] == "2 alerts" and rows["Alerts being investigated"][0] == "1 alert"
    # Another authority's auditor counts only its own; a national auditor counts every one.
    assert home(_client(make_person("isa.auditor", role="auditor", org="LA-206")))["New alerts"][0] == "1 alert"
    national = make_person("nat.auditor", role="national-auditor", org="CP-NATIONAL")
    assert home(_client(national))["New alerts"][0] == "3 alerts"


def test_an_auditor_sees_the_last_verification_and_full_walk():
    from django.core.management import call_command

    call_command("audit", "checkpoint")
    call_command("audit", "verify", "--full")
    rows = home(_client(make_person("aud.auditor", role="auditor")))
    assert rows["Last verification"][0].endswith(": intact")
    assert rows["Last full walk"][0].endswith(": intact")


# --- an administrator -------------------------------------------------------------------------------------------

def test_an_administrator_sees_the_accounts_that_need_them_by_name_and_nothing_outside_their_scope():
    from contactpoint.access.administration import create_user
    from contactpoint.access.authentication import throttle_key
    from contactpoint.access.models import Organisation
    from contactpoint.vault.keyring import get_keyring

    ada = make_person("ada.admin", role="org-admin")
    client = _client(ada)
    rows = home(client)
    for key in ("Accounts waiting for access to be granted", "Clearances expired or not recorded",
                "Clearances expiring soon", "Accounts locked after failed sign-ins"):
        assert rows[key][0] == "Nothing waiting"
    assert rows["Organisations you vouch for"] == ("None", "/admin/organisations")

    today, now = timezone.localdate(), timezone.now()
    create_user(ada.user, username="new.starter", full_name="Nia Starter", role_code="sch3-1a",
                organisation=Organisation.objects.get(code="LA-202"), now=now, keyring=get_keyring())
    make_person("old.check", full_name="Olly Check", cleared_on=today - timedelta(days=3 * 365 + 2))
    soon = make_person("soon.due", full_name="Sue Due", cleared_on=today - timedelta(days=3 * 365 - 20))
    locked = make_person("lock.ed", full_name="Lou Locked")
    LoginThrottle.objects.create(key=throttle_key("lock.ed"), failures=10, locked_until=now + timedelta(minutes=20))
    LoginThrottle.objects.create(key=throttle_key("no.such.person"), failures=10,
                                 locked_until=now + timedelta(minutes=20))
    # Islington's: not Ada's to see.
    make_person("isl.old", org="LA-206", cleared_on=today - timedelta(days=4 * 365))
    LoginThrottle.objects.create(key=throttle_key("isl.old"), failures=10, locked_until=now + timedelta(minutes=5))
    vouched_org("SCH-100009", "Brecknock Primary", "school")

    rows = home(client)
    assert rows["Accounts waiting for access to be granted"] == ("1 account Nia Starter", "/admin/users?status=lapsed")
    assert rows["Clearances expired or not recorded"] == ("1 account Olly Check", "/admin/users?status=lapsed")
    value, _ = rows["Clearances expiring soon"]
    assert value.startswith("1 account Sue Due, expires ")
    value, _ = rows["Accounts locked after failed sign-ins"]
    assert value.startswith("1 account Lou Locked, until ")
    assert rows["Organisations you vouch for"] == ("1 organisation", "/admin/organisations")
    page = client.get("/home").content.decode()
    assert f'href="/admin/users/{locked.user.pk}"' in page and f'href="/admin/users/{soon.user.pk}"' in page


def test_an_administrator_sees_each_source_and_its_last_feed_and_one_that_has_gone_quiet():
    from contactpoint.access.models import SourceSystem
    from tests.matching.test_review import GP_ROW, feed, health_org, source

    client = _client(make_person("ada.admin", role="org-admin"))
    assert "No source systems are registered yet" in main_text(client)
    gp = source("gp-camden", "gp_registrations", health_org())
    feed(gp, GP_ROW, now=timezone.now() - timedelta(hours=30))
    SourceSystem.objects.filter(pk=gp.pk).update(expected_every_hours=24, name="Camden GP registrations")
    school = source("agar-grove", "school_census", vouched_org())
    SourceSystem.objects.filter(pk=school.pk).update(name="Agar Grove census")
    tree = lxml_html.fromstring(client.get("/home").content.decode())
    lines = [said(r) for r in tree.xpath("//main//table//tbody/tr")]
    assert lines[0].startswith("Agar Grove census Never When it has something Not sent yet")
    assert lines[1].startswith("Camden GP registrations") and lines[1].endswith("Every 24 hours Overdue")


def test_an_operator_is_told_of_sources_that_have_gone_quiet():
    from contactpoint.access.models import SourceSystem
    from tests.matching.test_review import health_org, source

    client = _client(make_person("ope.rator", role="operator", org="CP-NATIONAL"))
    key = "Sources that have not sent for longer than expected"
    assert home(client)[key] == ("Nothing waiting", "/ops/status")
    gp = source("gp-camden", "gp_registrations", health_org())
    SourceSystem.objects.filter(pk=gp.pk).update(expected_every_hours=24,
                                                 created_at=timezone.now() - timedelta(days=2))
    assert home(client)[key][0].startswith("1 source gp-camden, nothing since ")


# --- several roles ----------------------------------------------------------------------------------------------

def test_a_user_whose_role_holds_several_kinds_of_work_sees_each_section(monkeypatch):
    both = ROLES_BY_CODE["data-manager"]
    monkeypatch.setitem(ROLES_BY_CODE, "data-manager", Role(
        both.code, both.title, both.kind, both.reference, both.org_kinds, both.granted_by,
        both.permissions | {Permission.ORG_USERS_VIEW, Permission.AUDIT_ALERTS}))
    rows = home(_client(make_person("dana.data", role="data-manager")))
    assert "Possible matches to review" in rows and "New alerts" in rows
    assert "Accounts waiting for access to be granted" in rows
    assert "Sources that have not sent for longer than expected" not in rows  # not the operator's


def test_a_practitioners_home_has_none_of_these_sections():
    rows = home(_client(make_person()))
    assert rows == {}
