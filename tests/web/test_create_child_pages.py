"""The page where a data manager creates a child no source knows (issue 19): a GOV.UK form with an error summary,
the new record shown as created by them, a possible match sent to review without a word about that child, one
child for a form sent twice, and no page for a practitioner."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client

from contactpoint.audit.models import AuditEntry
from contactpoint.children.models import Child, ChildStatus
from contactpoint.matching.models import ReviewItem
from tests.factories import make_person, sign_in
from tests.matching.test_review import GP_ROW, NOW, feed, health_org, source

pytestmark = pytest.mark.django_db

FORM = {"given_name": "Zara", "family_name": "Okonkwo", "date_of_birth-day": "11", "date_of_birth-month": "4",
        "date_of_birth-year": "2019", "gender": "female", "address_line_1": "3 Camden Square", "town": "London",
        "postcode": "NW1 9XA", "carer_1_name": "Ada Okonkwo", "carer_1_relationship": "mother",
        "carer_1_parental_responsibility": "yes"}


def client_for(username, **kw) -> Client:
    client = Client()
    assert sign_in(client, make_person(username, **kw)).status_code == 302
    return client


@pytest.fixture
def dana():
    return client_for("dana.data", role="data-manager", org="LA-202", full_name="Dana Data")


def submission(page: str) -> str:
    return re.search(r'name="submission" value="([^"]+)"', page).group(1)


def test_a_data_manager_creates_a_child_and_is_taken_to_the_record_shown_as_created_by_them(dana):
    assert "Create a record for a child no source knows" in dana.get("/lifecycle").content.decode()
    page = dana.get("/records/new").content.decode()
    assert "Create a child&#39;s record" in page and 'name="given_name"' in page
    done = dana.post("/records/new", {**FORM, "submission": submission(page)})
    child = Child.objects.get()
    assert done.status_code == 302 and done["Location"] == f"/children/{child.cpid}"
    assert child.responsible_la == "202" and child.status == ChildStatus.LIVE
    assert dana.post(f"/children/{child.cpid}", {"reason": "referral"}).status_code == 302
    record = dana.get(f"/children/{child.cpid}").content.decode()
    assert "Zara Okonkwo" in record and "The child&#39;s record has been created" in record
    assert "Created by Dana Data, Camden local authority, on" in record
    assert AuditEntry.objects.filter(action="record.created", actor="dana.data").count() == 1


def test_the_same_form_sent_twice_makes_one_child(dana):
    token = submission(dana.get("/records/new").content.decode())
    first = dana.post("/records/new", {**FORM, "submission": token})
    again = dana.post("/records/new", {**FORM, "submission": token})
    assert first["Location"] == again["Location"] and Child.objects.count() == 1


def test_errors_are_summarised_and_named_on_their_fields_without_repeating_values(dana):
    page = dana.post("/records/new", {**FORM, "given_name": "", "postcode": "QQ1 2345", "nhs_number": "9434765918",
                                      "date_of_birth-year": "2040"}).content.decode()
    assert "There is a problem" in page and "govuk-error-summary" in page
    assert 'href="#id_given_name"' in page and 'href="#id_postcode"' in page and 'href="#id_nhs_number"' in page
    assert "9434765918" not in page.replace('value="9434765918"', "")
    assert not Child.objects.exists() and not AuditEntry.objects.filter(action="record.created").exists()


def test_a_possible_match_goes_to_review_and_the_page_says_nothing_of_the_other_child(dana):
    feed(source("gp-camden", "gp_registrations", health_org()), GP_ROW, now=NOW - timedelta(days=1))
    existing = Child.objects.get()
    form = {**FORM, "given_name": "Amelia", "family_name": "Hartley", "date_of_birth-day": "3",
            "date_of_birth-month": "6", "date_of_birth-year": "2015", "address_line_1": "12 Agar Grove",
            "postcode": "NW1 8NP", "carer_1_name": "Sarah Hartley"}
    sent = dana.post("/records/new", form)
    assert sent["Location"] == "/records/new/sent"
    page = dana.get(sent["Location"]).content.decode()
    item = ReviewItem.objects.get()
    assert "Sent for a decision" in page and f"R-{item.pk}" in page and "review queue" in page
    assert existing.cpid not in page and "9434765919" not in page and "Camden Health Centre" not in page
    assert Child.objects.filter(status=ChildStatus.LIVE).count() == 1


def test_a_practitioner_has_no_such_page():
    sam = client_for("sam.social")
    assert sam.get("/records/new").status_code == 403
    assert sam.post("/records/new", FORM).status_code == 403
    assert not Child.objects.exists()


def test_another_data_manager_opens_and_links_the_pair_the_creator_cannot_open(dana):
    feed(source("gp-camden", "gp_registrations", health_org()), GP_ROW, now=NOW - timedelta(days=1))
    existing = Child.objects.get()
    form = {**FORM, "given_name": "Amelia", "family_name": "Hartley", "date_of_birth-day": "3",
            "date_of_birth-month": "6", "date_of_birth-year": "2015", "address_line_1": "12 Agar Grove",
            "postcode": "NW1 8NP", "carer_1_name": "Sarah Hartley"}
    dana.post("/records/new", form)
    item = ReviewItem.objects.get()
    queue = dana.get("/review").content.decode()
    assert "created by hand" in queue
    refused = dana.get(f"/review/{item.pk}")
    assert refused.status_code == 302 and refused["Location"] == "/review"
    assert "another data manager of your authority decides it" in dana.get("/review").content.decode()
    assert dana.post(f"/review/{item.pk}", {"decision": "link"})["Location"] == "/review"
    assert ReviewItem.objects.get().status == "open"
    desmond = client_for("desmond.data", role="data-manager", org="LA-202")
    pair = desmond.get(f"/review/{item.pk}").content.decode()
    assert "Amelia" in pair and existing.cpid in pair.replace(" ", "")
    done = desmond.post(f"/review/{item.pk}", {"decision": "link", "note": "Same child: the GP confirmed."})
    assert done.status_code == 302
    assert Child.objects.filter(status=ChildStatus.LIVE).get() == existing
