"""A data manager opens the review queue, looks at a pair side by side and links it; every page passes axe."""

from __future__ import annotations

import pytest

from contactpoint.children.models import Child, ChildStatus
from contactpoint.matching.models import ReviewItem
from tests.browser.conftest import assert_accessible, sign_in
from tests.factories import make_person
from tests.matching.test_review import queued_pair

pytestmark = pytest.mark.django_db(transaction=True)



def test_a_data_manager_opens_the_queue_and_links_a_pair(page):
    item = queued_pair()
    sign_in(page, make_person("dana.data", role="data-manager", org="LA-202"))

    page.get_by_role("link", name="Review matches").first.click()
    page.wait_for_url("**/review")
    assert "1 pair" in page.locator("#count").inner_text()
    assert_accessible(page)

    page.get_by_role("link", name=f"Pair {item.pk}").click()
    page.wait_for_url(f"**/review/{item.pk}")
    assert page.locator(".govuk-summary-card").count() == 2
    assert page.get_by_role("row", name="NHS number").count() == 1
    assert_accessible(page)

    page.get_by_role("button", name="Save decision").click()  # nothing chosen
    assert "Choose link, keep apart or defer" in page.locator(".govuk-error-summary").inner_text()
    assert page.title().startswith("Error:")
    assert_accessible(page)

    page.get_by_label("Link: they are the same child").check()
    page.get_by_label("Note (optional for link and keep apart)").fill("Same mother, home and date of birth.")
    page.get_by_role("button", name="Save decision").click()
    page.wait_for_url("**/review")
    assert f"Pair {item.pk} linked" in page.locator(".govuk-notification-banner").inner_text()
    assert_accessible(page)

    assert ReviewItem.objects.get().status == ReviewItem.Status.LINKED
    assert Child.objects.filter(status=ChildStatus.LIVE).count() == 1

    page.get_by_role("link", name="Decisions made").click()
    page.wait_for_url("**/review/history")
    assert_accessible(page)


def test_a_data_manager_reads_the_rows_held_back_at_desktop_and_phone_widths(page):
    from tests.matching.test_review import GP_ROW, feed, health_org, source

    feed(source("gp-camden", "gp_registrations", health_org()), GP_ROW | {"date_of_birth": ""})
    sign_in(page, make_person("dana.data", role="data-manager", org="LA-202"))
    page.get_by_role("link", name="Rows held back").first.click()
    page.wait_for_url("**/review/held")
    assert "1 row held" in page.locator("h2").first.inner_text()
    assert "Amelia Hartley" in page.locator(".govuk-summary-card").inner_text()
    assert_accessible(page)
    page.set_viewport_size({"width": 375, "height": 800})
    page.screenshot(path="build/held-rows-375.png", full_page=True)
    assert_accessible(page)


def test_a_data_manager_splits_a_link_the_pipeline_made(page):
    from contactpoint.children.models import SourceRecord
    from tests.matching.test_split_any_link import _linked_by_the_pipeline

    child, _ = _linked_by_the_pipeline()
    sign_in(page, make_person("dana.data", role="data-manager", org="LA-202"))
    page.get_by_role("link", name="Review matches").first.click()
    page.get_by_role("link", name="Split a record").click()
    page.get_by_label("ContactPoint ID").fill(child.cpid)
    page.get_by_role("button", name="Find the record").click()
    assert "2 records from its sources" in page.locator("h2").first.inner_text()
    assert_accessible(page)
    page.get_by_label("child-benefit: Millie Hartley", exact=False).check()
    page.get_by_role("button", name="Split them out").click()
    assert "is a record of its own" in page.locator(".govuk-notification-banner").inner_text()
    page.set_viewport_size({"width": 375, "height": 800})
    page.screenshot(path="build/split-records-375.png", full_page=True)
    assert_accessible(page)
    assert SourceRecord.objects.get(source="child-benefit").child_id != child.pk


def test_a_data_manager_filters_the_discrepancies_and_follows_one_to_the_child(page):
    from tests.web.test_review_pages import DISPUTE, _school_items

    child = _school_items()
    sign_in(page, make_person("dana.data", role="data-manager", org="LA-202"))
    page.get_by_role("link", name="Discrepancies").first.click()
    page.get_by_role("link", name="agar-grove (agar-grove)").click()
    assert "4 open items" in page.locator("#count").inner_text()
    assert_accessible(page)
    page.get_by_label("Source's answer").select_option("disputed")
    page.get_by_role("button", name="Show items").click()
    assert "1 open item matching" in page.locator("#count").inner_text()
    assert DISPUTE in page.locator("table").inner_text()
    assert_accessible(page)
    page.set_viewport_size({"width": 375, "height": 800})
    assert_accessible(page)
    page.get_by_role("link", name="record of the child", exact=False).click()
    page.wait_for_url(f"**/children/{child.cpid}")
    assert "Why do you need this record?" in page.locator("h1").inner_text()
