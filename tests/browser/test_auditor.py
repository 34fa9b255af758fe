"""An auditor, in Chromium: opens an alert from the list, sees its evidence, resolves it; every page passes axe."""

from __future__ import annotations

import random

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from contactpoint.children.identifiers import format_contactpoint_id
from contactpoint.monitoring.engine import catch_up
from contactpoint.monitoring.models import Alert
from contactpoint.monitoring.thresholds import MonitorSettings
from contactpoint.vault.keyring import get_keyring
from tests.browser.conftest import assert_accessible, sign_in
from tests.factories import make_person
from tests.monitoring import misuse
from tests.monitoring.seed import SurnameLaw, World

pytestmark = pytest.mark.django_db(transaction=True)



def test_an_auditor_opens_an_alert_sees_the_evidence_and_resolves_it(page):
    keyring = get_keyring()
    world = World(random.Random(3), SurnameLaw(2000), keyring)
    world.build(users=12, children=600, now=timezone.now())
    misuse.play("out_of_area", world, world.staff[2], timezone.localdate())
    catch_up(keyring, MonitorSettings())
    alert = Alert.objects.get(rule="out_of_area")
    auditor = make_person("camden.auditor", role="auditor", org="LA-202")

    sign_in(page, auditor)
    page.get_by_role("link", name="Audit").first.click()
    page.wait_for_url("**/audit")
    assert_accessible(page)
    page.get_by_role("link", name="Viewed records outside their area with no recorded involvement").click()
    page.wait_for_url(f"**/audit/alerts/{alert.pk}")
    evidence = page.locator("table").first.inner_text()
    # The ContactPoint ID written as on every page, in groups of four (issue 18).
    assert "Viewed the record" in evidence and format_contactpoint_id(world.other_kids[-1].cpid) in evidence
    assert_accessible(page)

    page.get_by_role("button", name="Acknowledge: I am investigating").click()
    assert "You have acknowledged the alert" in page.locator(".govuk-notification-banner").inner_text()
    page.get_by_role("button", name="Resolve the alert").click()
    expect(page.locator(".govuk-error-summary")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Referred to the user's organisation to investigate").check()
    page.get_by_label("What you found and did").fill("Four children in Hackney, no involvement: referred to LA.")
    page.get_by_role("button", name="Resolve the alert").click()
    assert "The alert is resolved" in page.locator(".govuk-notification-banner").inner_text()
    expect(page.locator("main")).to_contain_text("Referred to the user's organisation")
    assert_accessible(page)
    assert Alert.objects.get(pk=alert.pk).status == "resolved"
