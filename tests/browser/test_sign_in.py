from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import assert_accessible
from tests.factories import make_person

pytestmark = pytest.mark.django_db(transaction=True)


def _fill(page, person, pin=None, code=None):
    page.goto("/sign-in")
    page.get_by_label("Username").fill(person.user.username)
    page.get_by_label("Password", exact=True).fill(person.password)
    page.get_by_label("PIN", exact=True).fill(pin or person.pin)
    page.get_by_label("Security code").fill(code or person.code())
    page.get_by_role("button", name="Sign in").click()


def test_a_practitioner_signs_in_with_password_pin_and_token_and_a_wrong_pin_is_refused(page):
    person = make_person()
    page.goto("/sign-in")
    assert_accessible(page)

    _fill(page, person, pin="135791")
    expect(page.locator(".govuk-error-summary")).to_be_visible()
    assert "not right" in page.locator(".govuk-error-summary").inner_text()
    assert page.title().startswith("Error:")
    assert_accessible(page)

    _fill(page, person, code=person.next_code())
    page.wait_for_url("**/home")
    assert "Signed in as" in page.content()
    cookies = {c["name"]: c for c in page.context.cookies()}
    session = cookies["__Host-contactpoint-session"]
    assert session["secure"] and session["httpOnly"] and session["sameSite"] == "Strict"
    assert_accessible(page)
