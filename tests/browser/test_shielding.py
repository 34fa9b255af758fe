"""Shielding end to end in Chromium (issue 6): a data manager proposes a shield, a second officer approves it, and a
practitioner's view of the child then shows only the fields that stay visible; axe finds no serious violation."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.browser.conftest import assert_accessible, fill_date, sign_in
from tests.factories import make_person, make_record
from tests.search.test_service import add

pytestmark = pytest.mark.django_db(transaction=True)




def test_a_shield_proposed_and_approved_by_two_officers_hides_whereabouts_from_a_practitioner(page, browser,
                                                                                              live_server):
    [cpid] = add(make_record())
    first = make_person("dm.one", role="data-manager", full_name="Dana One")
    second = make_person("dm.two", role="data-manager", full_name="Dev Two")
    worker = make_person("sam.social")
    today = timezone.localdate()

    # The first officer finds the record from the work list and proposes a shield.
    sign_in(page, first)
    page.get_by_role("navigation").get_by_role("link", name="Shielding and retention").click()
    page.wait_for_url("**/lifecycle")
    assert_accessible(page)
    page.get_by_label("ContactPoint ID").fill(cpid)
    page.get_by_role("button", name="Open its life page").click()
    page.wait_for_url(f"**/lifecycle/children/{cpid}")
    expect(page.get_by_role("heading", name="Amelia Hartley")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("link", name="Propose shielding").click()
    page.wait_for_url(f"**/lifecycle/children/{cpid}/shield")
    assert_accessible(page)
    page.get_by_role("button", name="Send for approval").click()
    summary = page.locator(".govuk-error-summary")
    summary.wait_for()
    assert "Enter reason for the decision" in summary.inner_text()
    assert_accessible(page)
    page.get_by_label("Reason for the decision").fill("Fled domestic violence; the father is looking for them.")
    page.get_by_label("High: harm is likely if whereabouts become known").check()
    page.get_by_label("The child's view").fill("Wants to stay at her school and not be found.")
    page.get_by_label("The parent's or carer's view").fill("Her mother asked for the shield.")
    page.get_by_label("Body 1: name").fill("Camden Health Centre")
    page.get_by_label("Body 1: who was asked").fill("Practice manager")
    fill_date(page, "asked_on_1", today)
    page.get_by_label("Body 1: what they said").fill("Supports shielding.")
    fill_date(page, "review_on", today + timedelta(days=180))
    page.get_by_role("button", name="Send for approval").click()
    page.wait_for_url(f"**/lifecycle/children/{cpid}")
    assert "no effect until a second authorised officer approves it" in page.content()
    assert_accessible(page)

    # The second officer approves it from their work list.
    other = browser.new_context(base_url=live_server.url)
    try:
        page2 = other.new_page()
        sign_in(page2, second)
        page2.goto("/lifecycle")
        page2.locator("a[href^='/lifecycle/decisions/']").first.click()
        page2.wait_for_url("**/lifecycle/decisions/*")
        assert "Fled domestic violence" in page2.content()
        assert_accessible(page2)
        page2.get_by_label("Approve").check()
        page2.get_by_role("button", name="Record decision").click()
        page2.wait_for_url(f"**/lifecycle/children/{cpid}")
        assert "Decision approved" in page2.content()
        assert_accessible(page2)
    finally:
        other.close()

    # A practitioner now sees only the visible fields.
    third = browser.new_context(base_url=live_server.url)
    try:
        page3 = third.new_page()
        sign_in(page3, worker)
        page3.goto(f"/children/{cpid}")
        page3.get_by_label("Education: admission, attendance, special educational needs or a child missing "
                           "education").check()
        page3.get_by_role("button", name="Continue").click()
        page3.wait_for_url(f"**/children/{cpid}")
        content = page3.content()
        expect(page3.get_by_role("heading", name="Amelia Hartley")).to_be_visible()
        assert "This record is shielded" in content and "Sarah Hartley" in content
        for hidden in ("12 Agar Grove", "NW1 8NP", "Camden Health Centre", "07700 900123", "9434765919"):
            assert hidden not in content, hidden
        assert_accessible(page3)
    finally:
        third.close()
