"""Issue 18 in Chromium, for what only a browser shows: signing out with one press, search results where the
eye and the keyboard are, nothing off a phone's screen, the warning before the idle timeout; and screenshots
of the main pages at 1280 px and 375 px for a person to look at (build/screenshots/, kept out of git: the dates
in them change every run). axe finds nothing on any page at either width (conftest.assert_accessible)."""

from __future__ import annotations

import hashlib
import os
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_otp_webauthn.models import WebAuthnCredential
from playwright.sync_api import expect

from contactpoint.access.authentication import throttle_key
from contactpoint.access.models import LoginThrottle, SourceSystem
from contactpoint.monitoring.models import Alert
from tests.browser.conftest import WIDTHS, assert_accessible, sign_in
from tests.factories import make_person, make_record
from tests.search.test_service import add

pytestmark = pytest.mark.django_db(transaction=True)

SCREENSHOTS = Path(os.environ.get("CONTACTPOINT_SCREENSHOTS",
                                  Path(__file__).resolve().parents[2] / "build" / "screenshots"))


def _search(page, family: str = "Hartley") -> None:
    page.goto("/search")
    page.get_by_label("Child protection").check()
    page.get_by_label("Family name").fill(family)
    page.get_by_label("Day").fill("3")
    page.get_by_label("Month").fill("6")
    page.get_by_label("Year").fill("2015")
    page.get_by_role("button", name="Search").click()
    page.locator("#results").wait_for()


# --- finding 3 ----------------------------------------------------------------------------------------------------

def test_sign_out_is_one_press_of_a_button_in_the_header(page):
    sign_in(page, make_person())
    header = page.locator("header")
    header.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/signed-out")
    expect(page.get_by_role("heading", name="You have signed out")).to_be_visible()
    assert_accessible(page)
    page.goto("/home")
    page.wait_for_url("**/sign-in?next=%2Fhome")  # really signed out: no second step was needed


def test_sign_out_is_in_the_menu_on_a_phone(page):
    sign_in(page, make_person())
    page.set_viewport_size({"width": 375, "height": 800})
    page.get_by_role("button", name="Menu").click()
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/signed-out")


# --- findings 2 and 4 ---------------------------------------------------------------------------------------------

def test_search_results_come_first_with_their_count_and_focus_and_the_next_tab_is_view_record(page):
    add(make_record(), make_record(given="Bella", nhs="4010232137"))
    sign_in(page, make_person())
    _search(page)
    results = page.locator("#results")
    expect(results).to_have_text("2 children found")
    assert page.evaluate("document.activeElement.id") == "results"
    # Above the form, where the eye is after pressing Search.
    assert results.bounding_box()["y"] < page.locator("#search-form").bounding_box()["y"]
    assert results.bounding_box()["y"] < 400
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent")
    assert focused.strip().startswith("View record of")
    assert_accessible(page)

    # On a phone the results are a list of labelled lines, each "View record" on the screen.
    page.set_viewport_size({"width": 375, "height": 800})
    for button in page.get_by_role("button", name="View record").all():
        box = button.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 375
    label = page.evaluate("""() => getComputedStyle(document.querySelector('td[data-label="Date of birth"]'),
                                                    '::before').content""")
    assert label == '"Date of birth: "'
    assert page.locator("thead").bounding_box()["height"] <= 1  # the column headings only for screen readers


def test_a_search_that_finds_no_one_says_so_at_the_top(page):
    sign_in(page, make_person())
    _search(page, "Nobody")
    expect(page.locator("#results")).to_have_text("No children found")
    assert page.evaluate("document.activeElement.id") == "results"


# --- finding 10 ---------------------------------------------------------------------------------------------------

def test_a_warning_comes_before_the_idle_timeout_and_staying_signed_in_keeps_the_session(page):
    page.clock.install()
    sign_in(page, make_person())
    dialog = page.locator("#app-timeout")
    expect(dialog).to_be_hidden()
    page.clock.fast_forward("12:00")
    expect(dialog).to_be_hidden()
    page.clock.fast_forward("01:30")  # 13 minutes 30: two minutes or less to go
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("heading")).to_have_text("You will be signed out soon")
    assert_accessible(page)
    with page.expect_response("**/session/keep-alive") as answered:
        dialog.get_by_role("button", name="Stay signed in").click()
    assert answered.value.status == 204
    expect(dialog).to_be_hidden()
    page.clock.fast_forward("10:00")
    expect(dialog).to_be_hidden()  # the clock started again


def test_when_the_time_is_up_the_page_reloads_and_says_why(page):
    page.clock.install()
    sign_in(page, make_person())
    page.goto("/account")
    page.clock.fast_forward("15:02")
    page.wait_for_url("**/account")  # the reload; the server's own clock has not moved, so still signed in
    expect(page.locator("h1")).to_be_visible()


def test_the_start_page_leads_to_sign_in(page):
    page.goto("/")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/sign-in")
    assert_accessible(page)


# --- screenshots --------------------------------------------------------------------------------------------------

def _shoot(page, name: str) -> list[Path]:
    """The page at each width, whole, after axe has found nothing on it."""
    assert_accessible(page)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    size = page.viewport_size
    out = []
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        path = SCREENSHOTS / f"{name}-{width}.png"
        page.screenshot(path=str(path), full_page=True)
        out.append(path)
    page.set_viewport_size(size)
    return out


def _something_waiting_for_each_role() -> None:
    """For the home pages: an alert for the auditor; for the administrator a locked account, a clearance about to
    lapse and a source gone quiet."""
    now, today = timezone.now(), timezone.localdate()
    Alert.objects.create(key="shot-1", rule="override", title="Overrode shielding", subject_user="olu.police",
                         subject_org="LA-202", occurred_at=now, raised_at=now)
    make_person("lou.locked", full_name="Lou Locked")
    LoginThrottle.objects.create(key=throttle_key("lou.locked"), failures=10, locked_until=now + timedelta(minutes=25))
    make_person("sue.due", full_name="Sue Due", cleared_on=today - timedelta(days=3 * 365 - 20))
    SourceSystem.objects.filter(code="gp-camden").update(name="Camden GP registrations", expected_every_hours=24)
    SourceSystem.objects.filter(code="agar-grove").update(name="Agar Grove Primary census")
    for command in (("audit", "checkpoint"), ("audit", "verify", "--full")):  # a trail in good health
        call_command(*command)


@pytest.mark.once  # the pictures are the markup's, the same whichever database filled it in
def test_screenshots_of_the_main_pages_at_both_widths(page, browser, live_server):
    from tests.matching.test_review import queued_pair

    add(make_record(), make_record(given="Bella", nhs="4010232137"))
    item = queued_pair()
    _something_waiting_for_each_role()
    shots = []
    page.goto("/")
    shots += _shoot(page, "01-start")
    page.goto("/sign-in")
    shots += _shoot(page, "02-sign-in")
    sign_in(page, make_person())
    shots += _shoot(page, "03-home-practitioner")
    page.goto("/search")
    shots += _shoot(page, "04-search")
    _search(page)
    shots += _shoot(page, "05-search-results")
    page.get_by_role("button", name="View record of Amelia Hartley").first.click()
    page.wait_for_url("**/children/*")
    shots += _shoot(page, "06-record")

    auditor = browser.new_context(base_url=live_server.url).new_page()
    sign_in(auditor, make_person("la.auditor", role="auditor", org="LA-202"))
    auditor.goto("/audit")
    shots += _shoot(auditor, "07-audit-alerts")
    auditor.goto("/audit/reports/user?username=sam.social")
    shots += _shoot(auditor, "08-what-a-user-did")

    manager = browser.new_context(base_url=live_server.url).new_page()
    sign_in(manager, make_person("dana.data", role="data-manager", org="LA-202"))
    manager.goto("/review")
    shots += _shoot(manager, "09-review-queue")
    manager.goto(f"/review/{item.pk}")
    shots += _shoot(manager, "10-review-pair")

    admin = browser.new_context(base_url=live_server.url).new_page()
    sign_in(admin, make_person("ada.admin", role="org-admin"))
    admin.goto("/admin/users")
    shots += _shoot(admin, "11-admin-users")

    # The home pages of the other roles, with something waiting on each.
    manager.goto("/home")
    shots += _shoot(manager, "12-home-data-manager")
    auditor.goto("/home")
    shots += _shoot(auditor, "13-home-auditor")
    admin.goto("/home")
    shots += _shoot(admin, "14-home-administrator")

    # A child no source knows, created by hand: the form, and what it says when a box is wrong.
    manager.goto("/records/new")
    shots += _shoot(manager, "16-create-a-record")
    manager.get_by_label("Postcode").fill("QQ1 2345")
    manager.get_by_role("button", name="Create the record").click()
    manager.get_by_role("heading", name="There is a problem").wait_for()
    shots += _shoot(manager, "17-create-a-record-errors")

    # The second step for someone with a security key, after their password and PIN.
    keyed = browser.new_context(base_url=live_server.url).new_page()
    kay = make_person("kay.key", full_name="Kay Key")
    WebAuthnCredential.objects.create(
        user=kay.user, name="key", confirmed=True, credential_id=b"k1", public_key=b"p",
        aaguid="00000000-0000-0000-0000-000000000000", credential_id_sha256=hashlib.sha256(b"k1").hexdigest())
    keyed.goto("/sign-in")
    keyed.get_by_label("Username").fill("kay.key")
    keyed.get_by_label("Password", exact=True).fill(kay.password)
    keyed.get_by_label("PIN", exact=True).fill(kay.pin)
    keyed.get_by_role("button", name="Sign in").click()
    keyed.wait_for_url("**/sign-in/security-key**")
    shots += _shoot(keyed, "15-sign-in-security-key")

    assert len(shots) == 17 * len(WIDTHS)
    assert all(p.stat().st_size > 5_000 for p in shots)
