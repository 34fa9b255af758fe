"""End to end in Chromium (issue 4): sign in, search with too little, search properly with a reason, open the
record, record involvement and see it there; axe finds no serious violation on any page on the way."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import assert_accessible, sign_in
from tests.factories import make_person, make_record
from tests.search.test_service import add

pytestmark = pytest.mark.django_db(transaction=True)



def test_a_practitioner_finds_a_child_opens_the_record_and_records_their_involvement(page):
    [cpid] = add(make_record())
    person = make_person("sam.social", full_name="Sam Okafor")
    person.user.phone, person.user.email = "020 7974 4444", "sam.okafor@camden.example"
    person.user.save()
    sign_in(page, person)
    assert_accessible(page)

    # Too little: the error summary names what to add.
    page.get_by_role("navigation").get_by_role("link", name="Find a child").click()
    page.wait_for_url("**/search")
    assert_accessible(page)
    page.get_by_label("Health: care or follow-up of the child").check()
    page.get_by_label("Family name").fill("Hartley")
    page.get_by_role("button", name="Search").click()
    summary = page.locator(".govuk-error-summary")
    summary.wait_for()
    assert "Add the date of birth" in summary.inner_text()
    assert page.title().startswith("Error:")
    assert page.locator("#results").count() == 0
    assert_accessible(page)

    # Properly, with the reason still chosen.
    page.get_by_label("Day").fill("3")
    page.get_by_label("Month").fill("6")
    page.get_by_label("Year").fill("2015")
    page.get_by_role("button", name="Search").click()
    page.locator("#results").wait_for()
    assert page.locator(".govuk-error-summary").count() == 0
    assert "Amelia" in page.locator("table").inner_text()
    assert_accessible(page)

    page.get_by_role("button", name="View record of Amelia Hartley").click()
    page.wait_for_url(f"**/children/{cpid}")
    expect(page.get_by_role("heading", name="Amelia Hartley")).to_be_visible()
    assert "You gave the reason: Health" in page.content()
    assert_accessible(page)

    # Record involvement: a mistake first, then properly.
    page.get_by_role("link", name="Record your involvement").click()
    page.wait_for_url(f"**/children/{cpid}/involvement/new")
    assert page.get_by_label("Phone number").input_value() == "020 7974 4444"
    assert_accessible(page)
    page.get_by_label("Which service are you involved through?").select_option("social_care")
    page.get_by_role("button", name="Continue").click()
    summary = page.locator(".govuk-error-summary")
    summary.wait_for()
    assert "Enter your role" in summary.inner_text() and "Enter the date your involvement started" in \
        summary.inner_text()
    assert_accessible(page)

    page.get_by_label("Your role").fill("Social worker")
    page.get_by_label("Day").fill("2")
    page.get_by_label("Month").fill("3")
    page.get_by_label("Year").fill("2026")
    page.get_by_label("I am the lead professional for this child").check()
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(f"**/children/{cpid}")
    assert "Your involvement has been recorded" in page.locator(".govuk-notification-banner").inner_text()
    card = page.locator(".govuk-summary-card", has_text="Who is working with this child")
    text = card.inner_text()
    assert "Children's social care" in text and "Sam Okafor, Social worker" in text
    assert "Lead professional" in text and "020 7974 4444" in text and "From 2 March 2026" in text
    expect(card.get_by_role("link", name="Change your involvement: Children's social care")).to_be_visible()
    assert_accessible(page)


def test_a_sensitive_service_with_consent_then_a_contact_request_on_the_la_teams_work_list(page, browser,
                                                                                           live_server, request):
    from tests.factories import vouched_org

    [cpid] = add(make_record())
    org = vouched_org(code="NHS-RAL", name="Royal Free London", kind="health")
    nurse = make_person("nia.nurse", role="sch3-2", org=org.code, full_name="Nia Nurse")
    sign_in(page, nurse)
    page.goto(f"/children/{cpid}")
    page.get_by_label("Health: care or follow-up of the child").check()
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("link", name="Record your involvement").click()
    page.get_by_label("Which service are you involved through?").select_option("sexual_health")
    page.get_by_label("Your role").fill("Nurse")
    page.get_by_label("Phone number").fill("020 7794 0500")
    page.get_by_label("Day").fill("1")
    page.get_by_label("Month").fill("10")
    page.get_by_label("Year").fill("2026")
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(f"**/children/{cpid}/involvement/consent")
    assert_accessible(page)
    page.get_by_label("The young person has given their consent").check()
    page.get_by_label("Who gave consent?").fill("The young person")
    page.locator("#id_consent_on-day").fill("1")
    page.locator("#id_consent_on-month").fill("10")
    page.locator("#id_consent_on-year").fill("2026")
    page.get_by_label("In person").check()
    assert_accessible(page)  # with the conditional questions revealed
    page.get_by_role("button", name="Record involvement").click()
    page.wait_for_url(f"**/children/{cpid}")
    assert "Sexual health service" in page.content()

    # Another practitioner sees only that a service is involved, and asks to be put in touch.
    other = browser.new_context(base_url=live_server.url).new_page()
    request.addfinalizer(other.context.close)  # an open context keeps a server thread, and its connection, alive
    sign_in(other, make_person("sam.social", full_name="Sam Okafor"))
    other.goto(f"/children/{cpid}")
    other.get_by_label("Child protection enquiry").check()
    other.get_by_role("button", name="Continue").click()
    expect(other.locator("main")).to_contain_text("A service is involved")  # waits for the record to load
    assert "Sexual health" not in other.content()
    assert_accessible(other)
    other.get_by_role("link", name="Ask the team to put you in touch").click()
    assert_accessible(other)
    other.get_by_label("What do you need? (optional)").fill("Strategy meeting on Friday")
    other.get_by_role("button", name="Send request").click()
    expect(other.get_by_role("heading", name="Request sent")).to_be_visible()
    assert_accessible(other)

    # The responsible local authority's team works the request.
    team = browser.new_context(base_url=live_server.url).new_page()
    request.addfinalizer(team.context.close)
    sign_in(team, make_person("dan.data", role="data-manager", full_name="Dan Whitfield"))
    team.get_by_role("navigation").get_by_role("link", name="Contact requests").click()
    assert "Sam Okafor" in team.locator("table").inner_text()
    assert_accessible(team)
    team.locator("table").get_by_role("link").click()
    # Waits for the request's page: content() read straight after a click can catch the page mid-navigation.
    expect(team.locator("main")).to_contain_text("Strategy meeting on Friday")
    assert_accessible(team)
    team.get_by_label("I put the practitioner in touch").check()
    team.get_by_role("button", name="Save").click()
    expect(team.locator("main")).to_contain_text("The request has been updated")
    expect(team.locator("main")).to_contain_text("There are no open requests")
    assert_accessible(team)
