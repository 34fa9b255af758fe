"""The involvement, consent, lead professional and brokering pages, as a practitioner and an LA team see them."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from contactpoint.audit.models import AuditEntry
from contactpoint.records.models import BrokeringRequest, PractitionerInvolvement
from tests.factories import make_person, make_record, sign_in, vouched_org
from tests.search.test_service import add

pytestmark = pytest.mark.django_db

GOOD = {"service": "health_visiting", "role": "Health visitor", "phone": "020 7946 0000",
        "email": "hana.visitor@nhs.example", "start_date-day": "5", "start_date-month": "1",
        "start_date-year": "2026"}
CONSENT = {"basis": "consent", "consent_by": "The young person", "consent_on-day": "20", "consent_on-month": "11",
           "consent_on-year": "2026", "consent_how": "in_person"}


def person_client(username, **kw) -> tuple[Client, object]:
    person = make_person(username, **kw)
    client = Client()
    assert sign_in(client, person).status_code == 302
    return client, person.user


def open_record(client, cpid, reason="health") -> str:
    assert client.post(f"/children/{cpid}", {"reason": reason}).status_code == 302
    return client.get(f"/children/{cpid}").content.decode()


@pytest.fixture
def child():
    [cpid] = add(make_record())
    return cpid


@pytest.fixture
def hana():
    org = vouched_org(code="NHS-RAL", name="Royal Free London", kind="health")
    client, user = person_client("hana.visitor", role="sch3-2", org=org.code, full_name="Hana Visitor")
    user.phone, user.email = "020 7946 0123", "hana@nhs.example"
    user.save()
    return client


@pytest.fixture
def sam():
    return person_client("sam.social", full_name="Sam Okafor")[0]


def text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_a_practitioner_records_their_involvement_from_the_record_and_sees_it_there(hana, sam, child):
    page = open_record(hana, child)
    assert f'href="/children/{child}/involvement/new"' in page
    form = hana.get(f"/children/{child}/involvement/new").content.decode()
    assert "Record your involvement" in form and 'value="020 7946 0123"' in form and "hana@nhs.example" in form

    response = hana.post(f"/children/{child}/involvement/new", GOOD)
    assert response.status_code == 302 and response["Location"] == f"/children/{child}"
    page = hana.get(f"/children/{child}").content.decode()
    assert "Your involvement has been recorded" in page and "govuk-notification-banner--success" in page
    assert "Hana Visitor, Health visitor" in text(page) and "020 7946 0000" in page
    key = PractitionerInvolvement.objects.get().key
    assert f"/children/{child}/involvement/{key}/change" in page and f"/involvement/{key}/end" in page
    assert "Your involvement has been recorded" not in hana.get(f"/children/{child}").content.decode()

    other = open_record(sam, child)
    assert "Hana Visitor, Health visitor" in text(other) and f"/involvement/{key}/change" not in other


def test_bad_details_show_an_error_summary_naming_each_problem(hana, child):
    open_record(hana, child)
    bad = {**GOOD, "role": "", "phone": "", "email": "", "start_date-day": "31", "start_date-month": "2"}
    page = hana.post(f"/children/{child}/involvement/new", bad).content.decode()
    assert "<title>Error:" in page and "govuk-error-summary" in page
    assert "Enter your role, for example health visitor" in page
    assert "Date your involvement started must be a real date" in page
    page = hana.post(f"/children/{child}/involvement/new", {**GOOD, "phone": "", "email": ""}).content.decode()
    assert "Enter a phone number or an email address so that others can reach you" in page
    assert 'href="#id_phone"' in page
    assert not PractitionerInvolvement.objects.exists()


def test_recording_without_opening_the_record_first_asks_for_the_reason(hana, child):
    response = hana.get(f"/children/{child}/involvement/new")
    assert response.status_code == 302 and response["Location"] == f"/children/{child}"
    assert hana.post(f"/children/{child}/involvement/new", GOOD).status_code == 302
    assert not PractitionerInvolvement.objects.exists()


def test_a_sensitive_service_asks_for_consent_and_others_see_only_that_a_service_is_involved(hana, sam, child):
    open_record(hana, child)
    response = hana.post(f"/children/{child}/involvement/new", {**GOOD, "service": "sexual_health",
                                                                 "role": "Nurse"})
    assert response["Location"] == f"/children/{child}/involvement/consent"
    assert not PractitionerInvolvement.objects.exists()  # nothing stored before the ground is given
    page = hana.get(response["Location"]).content.decode()
    assert "Consent or significant harm" in page and "Sexual health service" in page

    page = hana.post(response["Location"], {"basis": "consent"}).content.decode()
    assert "govuk-error-summary" in page and "Enter the date consent was given" in page
    page = hana.post(response["Location"], {**CONSENT, "consent_by": ""}).content.decode()
    assert "Enter who gave consent" in page
    page = hana.post(response["Location"], {"basis": "significant_harm", "harm_by": "Dr Adeyemi",
                                            "harm_on-day": "1", "harm_on-month": "11", "harm_on-year": "2026"})
    assert "Say why significant harm is suspected" in page.content.decode()
    done = hana.post(response["Location"], CONSENT)
    assert done["Location"] == f"/children/{child}"
    assert "Sexual health service" in hana.get(f"/children/{child}").content.decode()

    other = open_record(sam, child)
    assert "A service is involved. Contact the local authority ContactPoint team." in other
    assert "Sexual health" not in other and "Nurse" not in other
    assert f"/children/{child}/contact-request" in other


def test_taking_the_lead_asks_for_confirmation_naming_the_current_lead(hana, sam, child):
    open_record(sam, child)
    sam.post(f"/children/{child}/involvement/new", {**GOOD, "service": "social_care", "role": "Social worker",
                                                    "flags": ["lead_professional"]})
    open_record(hana, child)
    response = hana.post(f"/children/{child}/involvement/new", {**GOOD, "flags": ["lead_professional",
                                                                                 "caf_completed"]})
    assert response["Location"] == f"/children/{child}/involvement/lead"
    page = hana.get(response["Location"]).content.decode()
    assert "Sam Okafor, Social worker (Children&#39;s social care) is recorded as the lead professional" in page
    assert "Choose whether you are taking over" in hana.post(response["Location"], {}).content.decode()
    assert hana.post(response["Location"], {"take_lead": "yes"})["Location"] == f"/children/{child}"
    page = text(hana.get(f"/children/{child}").content.decode())
    assert "Lead professional: Hana Visitor, Health visitor, Health visiting" in page
    assert "completed, held by Hana Visitor, Health visitor" in page
    assert AuditEntry.objects.filter(action="child.involvement.changed", target_user="sam.social").exists()


def test_declining_the_lead_records_the_involvement_without_it(hana, sam, child):
    open_record(sam, child)
    sam.post(f"/children/{child}/involvement/new", {**GOOD, "service": "social_care", "role": "Social worker",
                                                    "flags": ["lead_professional"]})
    open_record(hana, child)
    hana.post(f"/children/{child}/involvement/new", {**GOOD, "flags": ["lead_professional"]})
    hana.post(f"/children/{child}/involvement/lead", {"take_lead": "no"})
    page = text(hana.get(f"/children/{child}").content.decode())
    assert "Lead professional: Sam Okafor, Social worker" in page and "Hana Visitor, Health visitor" in page


def test_only_the_practitioner_who_recorded_it_can_change_or_end_it(hana, sam, child):
    open_record(hana, child)
    hana.post(f"/children/{child}/involvement/new", GOOD)
    key = PractitionerInvolvement.objects.get().key
    for url in (f"/children/{child}/involvement/{key}/change", f"/children/{child}/involvement/{key}/end"):
        refused = sam.get(url)
        assert refused.status_code == 403 and "Only the practitioner who recorded" in refused.content.decode()
        assert sam.post(url, {**GOOD, "role": "Impostor"}).status_code == 403
    assert hana.get(f"/children/100000000012/involvement/{key}/change").status_code == 404
    assert hana.get(f"/children/{child}/involvement/nosuchkey/end").status_code == 404

    page = hana.get(f"/children/{child}/involvement/{key}/change").content.decode()
    assert 'value="Health visitor"' in page and 'value="2026"' in page
    assert hana.post(f"/children/{child}/involvement/{key}/change", {**GOOD, "phone": "020 7946 0999"}).status_code \
        == 302
    assert "020 7946 0999" in hana.get(f"/children/{child}").content.decode()

    page = hana.post(f"/children/{child}/involvement/{key}/end", {"end_date-day": "1", "end_date-month": "1",
                                                                  "end_date-year": "2026"}).content.decode()
    assert "must be on or after the date it started" in page
    assert hana.post(f"/children/{child}/involvement/{key}/end", {
        "end_date-day": "1", "end_date-month": "11", "end_date-year": "2026"})["Location"] == f"/children/{child}"
    page = text(hana.get(f"/children/{child}").content.decode())
    assert "From 5 January 2026 to 1 November 2026" in page and "Your involvement has been ended" in page


def test_withdrawn_consent_removes_the_service_from_the_record(hana, sam, child):
    open_record(hana, child)
    hana.post(f"/children/{child}/involvement/new", {**GOOD, "service": "mental_health", "role": "Counsellor"})
    hana.post(f"/children/{child}/involvement/consent", CONSENT)
    key = PractitionerInvolvement.objects.get().key
    assert f"/involvement/{key}/withdraw" in hana.get(f"/children/{child}/involvement/{key}/change").content.decode()
    assert sam.post(f"/children/{child}/involvement/{key}/withdraw").status_code == 403
    page = hana.get(f"/children/{child}/involvement/{key}/withdraw").content.decode()
    assert "removed from the child&#39;s record altogether" in page
    assert hana.post(f"/children/{child}/involvement/{key}/withdraw")["Location"] == f"/children/{child}"
    assert not PractitionerInvolvement.objects.exists()
    assert "A service is involved" not in open_record(sam, child)


def test_a_contact_request_reaches_only_the_responsible_las_team_who_can_resolve_it(hana, sam, child):
    open_record(hana, child)
    hana.post(f"/children/{child}/involvement/new", {**GOOD, "service": "sexual_health", "role": "Nurse"})
    hana.post(f"/children/{child}/involvement/consent", CONSENT)
    open_record(sam, child)
    form = sam.get(f"/children/{child}/contact-request").content.decode()
    assert "Ask to be put in touch" in form
    sent = sam.post(f"/children/{child}/contact-request", {"message": "Strategy meeting on Friday"})
    assert "Request sent" in sent.content.decode()
    request = BrokeringRequest.objects.get()

    city, _ = person_client("cal.city", role="data-manager", org="LA-201")
    assert "There are no open requests" in city.get("/la/contact-requests").content.decode()
    assert city.get(f"/la/contact-requests/{request.pk}").status_code == 404
    assert sam.get("/la/contact-requests").status_code == 403

    camden, _ = person_client("dan.data", role="data-manager", org="LA-202")
    listing = camden.get("/la/contact-requests").content.decode()
    assert "Contact requests" in listing and "Sam Okafor" in listing and "A sensitive service" in listing
    assert "Strategy meeting" not in listing  # the message is read on the request's own (audited) page
    detail = camden.get(f"/la/contact-requests/{request.pk}").content.decode()
    assert "Strategy meeting on Friday" in detail
    assert "Choose what happened" in camden.post(f"/la/contact-requests/{request.pk}", {}).content.decode()
    done = camden.post(f"/la/contact-requests/{request.pk}", {"status": "brokered", "note": "Called the clinic"})
    assert done["Location"] == "/la/contact-requests"
    assert "The request has been updated" in camden.get("/la/contact-requests").content.decode()
    assert "There are no open requests" in camden.get("/la/contact-requests").content.decode()
    assert "Put in touch" in camden.get("/la/contact-requests?show=all").content.decode()
    assert [e.action for e in AuditEntry.objects.filter(action__startswith="child.brokering")] == [
        "child.brokering.requested", "child.brokering.opened", "child.brokering.opened",
        "child.brokering.resolved"]


def test_with_nothing_hidden_a_contact_request_says_to_contact_them_directly(sam, child):
    open_record(sam, child)
    page = sam.post(f"/children/{child}/contact-request", {"message": ""}).content.decode()
    assert "govuk-error-summary" in page and "contact them directly" in page


def test_a_shielded_child_still_takes_an_involvement_and_shows_the_practitioner_their_own(hana):
    [cpid] = add(make_record(), shielded=True)
    page = open_record(hana, cpid)
    assert f"/children/{cpid}/involvement/new" in page and f"/children/{cpid}/contact-request" in page
    assert hana.post(f"/children/{cpid}/involvement/new", GOOD).status_code == 302
    page = hana.get(f"/children/{cpid}").content.decode()
    assert "This record is shielded" in page and "Your involvement" in page and "Health visiting" in page
    assert "Camden Health Centre" not in page


def test_the_responsible_la_team_can_record_that_consent_was_withdrawn_from_the_record(hana, child):
    open_record(hana, child)
    hana.post(f"/children/{child}/involvement/new", {**GOOD, "service": "sexual_health", "role": "Nurse"})
    hana.post(f"/children/{child}/involvement/consent", CONSENT)
    key = PractitionerInvolvement.objects.get().key
    url = f"/children/{child}/involvement/{key}/consent-withdrawn"

    city, _ = person_client("cal.city", role="data-manager", org="LA-201")
    assert url not in open_record(city, child)
    assert city.get(url).status_code == 404 and city.post(url).status_code == 404

    camden, _ = person_client("dan.data", role="data-manager", org="LA-202")
    page = open_record(camden, child)
    assert "Sexual health service" in page and url in page
    assert "removed from the child&#39;s record altogether" in camden.get(url).content.decode()
    assert camden.post(url)["Location"] == f"/children/{child}"
    assert not PractitionerInvolvement.objects.exists()
    withdrawn = AuditEntry.objects.get(action="child.involvement.consent_withdrawn")
    assert withdrawn.actor == "dan.data" and withdrawn.target_user == "hana.visitor"


def test_lead_is_asked_before_consent_so_consent_details_never_wait_in_the_session(hana, sam, child):
    open_record(sam, child)
    sam.post(f"/children/{child}/involvement/new", {**GOOD, "service": "social_care", "role": "Social worker",
                                                    "flags": ["lead_professional"]})
    open_record(hana, child)
    first = hana.post(f"/children/{child}/involvement/new", {**GOOD, "service": "mental_health",
                                                             "role": "Counsellor", "flags": ["lead_professional"]})
    assert first["Location"] == f"/children/{child}/involvement/lead"
    second = hana.post(first["Location"], {"take_lead": "yes"})
    assert second["Location"] == f"/children/{child}/involvement/consent"
    assert hana.session["involvement_pending"]["take_lead"] is True
    done = hana.post(second["Location"], {**CONSENT, "consent_by": "Quintessa, the young person"})
    assert done["Location"] == f"/children/{child}"
    assert "involvement_pending" not in hana.session
    assert "Quintessa" not in str(dict(hana.session))
    page = text(hana.get(f"/children/{child}").content.decode())
    assert "Lead professional: Hana Visitor, Counsellor, Mental health service" in page
