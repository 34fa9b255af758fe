"""An organisation administrator adds a practitioner, records their clearance and training, and grants access,
in Chromium, with axe on every page."""

from __future__ import annotations

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from contactpoint.access.models import User
from contactpoint.audit.actions import AuditAction
from contactpoint.audit.models import AuditEntry
from tests.browser.conftest import assert_accessible, fill_date, sign_in
from tests.factories import make_person

pytestmark = pytest.mark.django_db(transaction=True)




def test_an_administrator_adds_a_practitioner_records_clearance_and_training_and_grants_access(page):
    admin = make_person("ada.admin", role="org-admin", full_name="Ada Mensah")
    sign_in(page, admin)

    page.goto("/admin/users/new")
    assert_accessible(page)
    page.get_by_role("button", name="Add the user").click()  # nothing filled in: the error summary says what
    expect(page.locator(".govuk-error-summary")).to_be_visible()
    assert_accessible(page)

    page.get_by_label("Full name").fill("Femi Adeyemi")
    page.get_by_label("Username").fill("femi.adeyemi")
    page.get_by_label("Role").select_option("sch3-1a")
    page.get_by_role("button", name="Add the user").click()
    assert page.locator("#temporary-password").inner_text().strip()
    assert page.locator("#temporary-pin").inner_text().strip().isdigit()
    assert_accessible(page)
    femi = User.objects.get(username="femi.adeyemi")

    today = timezone.localdate()
    page.goto(f"/admin/users/{femi.pk}/clearance")
    fill_date(page, "cleared_on", today.replace(day=1))
    page.get_by_label("Certificate number or vetting reference").fill("001234567890")
    assert_accessible(page)
    page.get_by_role("button", name="Record the clearance").click()
    page.goto(f"/admin/users/{femi.pk}/training")
    fill_date(page, "completed_on", today)
    page.get_by_role("button", name="Record the training").click()

    page.goto(f"/admin/users/{femi.pk}")
    assert_accessible(page)
    page.get_by_role("button", name="Grant access").click()
    expect(page.locator("main")).to_contain_text("Femi Adeyemi has been granted access")
    expect(page.get_by_role("link", name="Revoke access")).to_be_visible()
    assert_accessible(page)

    femi.refresh_from_db()
    assert femi.granted_at is not None and femi.granted_by_id == admin.user.pk
    assert femi.clearance_reference == "001234567890" and femi.training_completed_on == today
    granted = AuditEntry.objects.filter(action=AuditAction.ACCESS_GRANTED, target_user="femi.adeyemi")
    assert granted.filter(actor="ada.admin").exists()
