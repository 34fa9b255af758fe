"""Practitioners told, end to end in Chromium (issue 18): practitioner A records involvement with a child,
practitioner B records involvement with the same child; both see the count in the header and the notification,
and an email goes to each with no child details. axe at 1280 px and 375 px on every page visited."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from django.core import mail

from tests.browser.conftest import assert_accessible, fill_date, sign_in
from tests.factories import make_person, make_record, vouched_org
from tests.search.test_service import add

pytestmark = pytest.mark.django_db(transaction=True)
SHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"  # not kept in git: regenerated each run


def accessible_at_both_widths(page, name: str | None = None) -> None:
    for width, height in ((1280, 900), (375, 800)):
        page.set_viewport_size({"width": width, "height": height})
        assert_accessible(page)
        if name:  # for a person to look at (build/screenshots)
            SHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


def involve(page, cpid: str, reason: str, service: str, role: str) -> None:
    page.goto(f"/children/{cpid}")
    page.get_by_label(reason).check()
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(f"**/children/{cpid}")
    accessible_at_both_widths(page)
    page.get_by_role("link", name="Record your involvement").click()
    page.wait_for_url(f"**/children/{cpid}/involvement/new")
    page.get_by_label("Which service are you involved through?").select_option(service)
    page.get_by_label("Your role").fill(role)
    fill_date(page, "start_date", date(2026, 3, 2))
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(f"**/children/{cpid}")


def test_a_second_practitioner_records_involvement_and_both_are_told_in_the_service_and_by_email(browser,
                                                                                                 live_server):
    [cpid] = add(make_record())
    org = vouched_org(code="NHS-RAL", name="Royal Free London", kind="health")
    hana = make_person("hana.visitor", role="sch3-2", org=org.code, full_name="Hana Visitor")
    sam = make_person("sam.social", full_name="Sam Okafor")
    for person, email in ((hana, "hana@nhs.example"), (sam, "sam@camden.example")):
        person.user.email = email
        person.user.save()
    contexts = [browser.new_context(base_url=live_server.url) for _ in range(2)]
    try:
        a, b = (c.new_page() for c in contexts)
        for p in (a, b):
            p.set_default_timeout(10_000)

        sign_in(a, hana)
        involve(a, cpid, "Health: care or follow-up of the child", "health_visiting", "Health visitor")
        a.goto("/home")
        assert "Notifications (" not in a.locator("header").inner_text()
        assert "Children you are working with" in a.content()
        accessible_at_both_widths(a, "home-practitioner")

        sign_in(b, sam)
        involve(b, cpid, "Child protection enquiry", "social_care", "Social worker")

        for p in (a, b):
            p.goto("/home")
            header = p.locator("header")
            assert "Notifications (1 new)" in header.inner_text()
            header.get_by_role("link", name="Notifications (1 new)").click()
            p.wait_for_url("**/notifications")
            body = p.locator("main").inner_text()
            assert "Open the record" in body and "Amelia" not in body
            accessible_at_both_widths(p, f"notifications-{'a' if p is a else 'b'}")
            p.reload()
            assert "Notifications (" not in p.locator("header").inner_text()  # read now

        assert "Another practitioner has started working" in a.locator("main").inner_text()
        assert "Other practitioners are already working" in b.locator("main").inner_text()
        assert sorted(m.to[0] for m in mail.outbox) == ["hana@nhs.example", "sam@camden.example"]
        for message in mail.outbox:
            assert "Sign in to ContactPoint" in message.body
            for detail in ("Amelia", "Hartley", cpid, "Health", "social", "Agar"):
                assert detail not in message.body and detail not in message.subject
    finally:
        for c in contexts:
            c.close()
