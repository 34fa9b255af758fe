from __future__ import annotations

from datetime import date

import pytest

from contactpoint.audit.models import AuditEntry
from contactpoint.children.record import Involvement, SensitiveCategory
from tests.factories import make_person, make_record, sign_in
from tests.search.test_service import add

pytestmark = pytest.mark.django_db

SEARCH = {"reason": "child_protection", "family": "Hartley", "birthdate-day": "3", "birthdate-month": "6",
          "birthdate-year": "2015"}


@pytest.fixture
def social_worker(client):
    person = make_person()
    sign_in(client, person)
    return person


def _open(client, cpid, reason="child_protection"):
    response = client.post(f"/children/{cpid}", {"reason": reason})
    assert response.status_code == 302
    return client.get(f"/children/{cpid}")


def test_too_little_detail_shows_an_error_summary_saying_what_to_add(client, social_worker):
    response = client.post("/search", {"reason": "education", "family": "Hartley"})
    page = response.content.decode()
    assert "govuk-error-summary" in page and "Add the date of birth" in page
    assert "<title>Error:" in page


def test_a_search_without_a_reason_is_refused(client, social_worker):
    page = client.post("/search", {k: v for k, v in SEARCH.items() if k != "reason"}).content.decode()
    assert "Choose why you need to find this child" in page


def test_a_search_lists_matches_and_opening_one_needs_and_records_a_reason(client, social_worker):
    [cpid] = add(make_record())
    page = client.post("/search", SEARCH).content.decode()
    assert "Amelia" in page and "Hartley" in page and f"/children/{cpid}" in page
    assert "Hartley" not in client.get("/search").content.decode()  # nothing kept in the page or the URL
    asked = client.get(f"/children/{cpid}").content.decode()
    assert "Why do you need this record?" in asked and "Amelia" not in asked
    page = _open(client, cpid).content.decode()
    # The NHS number written as the NHS writes it, 3-3-4 (issue 18, finding 6).
    assert "Basic details" in page and "943 476 5919" in page and "9434765919" not in page
    assert "12 Agar Grove" in page and "Camden Health Centre" in page
    assert AuditEntry.objects.filter(action="child.record.viewed", subjects=[cpid]).count() == 1


def test_every_value_shows_where_it_came_from_and_when(client, social_worker):
    from tests.api.clients import make_source

    source, _key = make_source("gp-registrations", org="LA-202", kind="gp_registrations")
    source.name = "GP registrations (NHS)"
    source.save()
    [cpid] = add(make_record())
    page = _open(client, cpid).content.decode()
    # The source's name, never its code (issue 18, finding 6).
    assert "From GP registrations (NHS), received 1 November 2026" in page and "gp-registrations" not in page


def test_a_sensitive_service_shows_only_that_a_service_is_involved(client, social_worker):
    [cpid] = add(make_record(involvements=(
        Involvement(key="s1", service="Sexual health clinic", practitioner_name="Dr Secret",
                    start_date=date(2025, 1, 1), sensitive=SensitiveCategory.SEXUAL_HEALTH),
        Involvement(key="i1", service="School nursing", practitioner_name="Nurse Open", start_date=date(2025, 1, 1),
                    lead_professional=True, caf_completed=True))))
    page = _open(client, cpid).content.decode()
    assert "A service is involved. Contact the local authority ContactPoint team." in page
    assert "Sexual health" not in page and "Dr Secret" not in page
    assert "Nurse Open" in page and "Lead professional" in page and "Holds CAF" in page


def test_a_shielded_record_shows_only_visible_fields(client, social_worker):
    [cpid] = add(make_record(), shielded=True)
    page = _open(client, cpid).content.decode()
    assert "This record is shielded" in page and "Amelia Hartley" in page and "Sarah Hartley" in page
    for hidden in ("12 Agar Grove", "NW1 8NP", "9434765919", "Camden Health Centre", "07700 900123",
                   "gp-registrations"):
        assert hidden not in page


def test_a_child_protection_override_warns_alerts_and_lasts_only_for_the_session(client, social_worker):
    [cpid] = add(make_record(), shielded=True)
    _open(client, cpid)
    page = client.get(f"/children/{cpid}/override").content.decode()
    assert "raises an alert to auditors at once" in page
    client.post(f"/children/{cpid}/override")
    page = client.get(f"/children/{cpid}").content.decode()
    assert "You have overridden shielding" in page and "12 Agar Grove" in page
    assert AuditEntry.objects.get(action="child.shield.override").severity == "alert"
    client.post("/sign-out")
    sign_in(client, social_worker, social_worker.next_code())
    assert "12 Agar Grove" not in _open(client, cpid).content.decode()


def test_a_teacher_cannot_override_shielding(client):
    from tests.factories import vouched_org

    vouched_org()
    teacher = make_person("t.teacher", role="sch3-9", org="SCH-100001")
    sign_in(client, teacher)
    [cpid] = add(make_record(), shielded=True)
    page = _open(client, cpid).content.decode()
    assert "Override shielding" not in page
    assert client.post(f"/children/{cpid}/override").status_code == 403


def test_an_unknown_or_archived_record_is_not_found_alike(client, social_worker):
    from contactpoint.children.models import Child

    [cpid] = add(make_record())
    Child.objects.filter(cpid=cpid).update(status="archived")
    client.post(f"/children/{cpid}", {"reason": "health"})
    assert client.get(f"/children/{cpid}").status_code == 404
    # Asking is audited all the same: guessing at IDs is how one would trawl for them.
    from contactpoint.audit.models import AuditEntry
    from contactpoint.audit.trail import read_detail
    from contactpoint.vault.keyring import get_keyring

    [asked] = AuditEntry.objects.filter(action="child.record.not_found", actor=social_worker.user.username)
    assert (asked.outcome, asked.reason, asked.subjects) == ("refused", "health", [])
    assert read_detail(get_keyring(), asked) == {"requested": cpid} and cpid not in asked.detail  # sealed
    # Something that is not a ContactPoint ID at all is asked for the reason too (as any ID is: the form says
    # nothing of whether there is such a child), and audited alike.
    assert "Why do you need this record?" in client.get("/children/not-an-id").content.decode()
    client.post("/children/not-an-id", {"reason": "health"})
    assert client.get("/children/not-an-id").status_code == 404
    mistyped = AuditEntry.objects.filter(action="child.record.not_found").exclude(pk=asked.pk).get()
    assert read_detail(get_keyring(), mistyped) == {"requested": "not-an-id"}


def test_a_merged_record_s_old_id_leads_to_the_child_it_became_and_the_view_names_both(client, social_worker):
    """Issue 19: a practitioner holding the older ContactPoint ID (on a referral form, say) finds the child, and
    is told the ID to use; a report on either ID shows the view. An ID whose record became nothing live is not
    found, as before."""
    from contactpoint.children.identifiers import format_contactpoint_id
    from contactpoint.children.models import Child

    old, survivor = add(make_record(given="Ava"), make_record(given="Ava"))
    Child.objects.filter(cpid=old).update(status="merged", merged_into=Child.objects.get(cpid=survivor))
    page = _open(client, old).content.decode()
    assert f"ContactPoint ID {format_contactpoint_id(survivor)}" in page
    assert f"You asked for ContactPoint ID {format_contactpoint_id(old)}" in page
    viewed = AuditEntry.objects.filter(action="child.record.viewed").get()
    assert viewed.subjects == [survivor, old]

    Child.objects.filter(cpid=survivor).update(status="archived")
    assert client.get(f"/children/{old}").status_code == 404


def test_a_teacher_is_offered_only_the_reasons_a_school_may_give_and_health_is_refused(client):
    from tests.factories import vouched_org

    vouched_org()
    sign_in(client, make_person("t.teacher", role="sch3-9", org="SCH-100001"))
    [cpid] = add(make_record())
    page = client.get("/search").content.decode()
    assert 'value="education"' in page and 'value="health"' not in page and 'value="youth_justice"' not in page
    refused = client.post("/search", {**SEARCH, "reason": "health"}).content.decode()
    assert "govuk-error-summary" in refused and "Amelia" not in refused
    asked = client.post(f"/children/{cpid}", {"reason": "health"})
    assert asked.status_code == 200 and "Amelia" not in asked.content.decode()
    assert client.get(f"/children/{cpid}").content.decode().count("Why do you need this record?") >= 1
    assert _open(client, cpid, "education").status_code == 200


def test_who_is_working_with_the_child_comes_first_with_lead_and_caf_then_basic_details(client, social_worker):
    [cpid] = add(make_record(involvements=(
        Involvement(key="i1", service="School nursing", practitioner_name="Nurse Open",
                    practitioner_phone="020 7946 0001", start_date=date(2025, 1, 1), lead_professional=True,
                    caf_completed=True),)))
    page = _open(client, cpid).content.decode()
    assert page.index("Who is working with this child") < page.index("Basic details")
    assert page.index("Nurse Open") < page.index("Basic details") and "020 7946 0001" in page
    assert "Lead professional: <strong>Nurse Open, School nursing</strong>" in page


def test_ended_involvements_are_marked_ended_and_come_after_current_ones(client, social_worker):
    [cpid] = add(make_record(involvements=(
        Involvement(key="old", service="Family support", practitioner_name="Pat Past", start_date=date(2020, 1, 1),
                    end_date=date(2021, 3, 31)),
        Involvement(key="now", service="School nursing", practitioner_name="Nurse Now", start_date=date(2025, 1, 1)))))
    page = _open(client, cpid).content.decode()
    assert page.index("Nurse Now") < page.index("Ended involvements") < page.index("Pat Past")
    ended_row = page[page.index("Ended involvements"):]
    assert "govuk-tag--grey" in ended_row and "to 31 March 2021" in ended_row
    assert "govuk-tag--grey" not in page[:page.index("Ended involvements")]


def test_a_sensitive_service_alone_is_not_contradicted_by_none_recorded(client, social_worker):
    [cpid] = add(make_record(involvements=(
        Involvement(key="s1", service="Sexual health clinic", practitioner_name="Dr Secret",
                    start_date=date(2025, 1, 1), sensitive=SensitiveCategory.SEXUAL_HEALTH),)))
    page = _open(client, cpid).content.decode()
    assert "A service is involved. Contact the local authority ContactPoint team." in page
    assert "None recorded." not in page and "No other services or practitioners are recorded." in page
    assert "Sexual health" not in page and "Dr Secret" not in page
