"""Notifications and the practitioner's home page (issue 18), through the pages: a second practitioner records
involvement with a child; both see the count in the header, their notifications and the child on their home page;
the email names no child."""

from __future__ import annotations

import pytest
from django.core import mail

from contactpoint.audit.models import AuditEntry
from tests.web import test_involvement_pages as pages
from tests.web.test_involvement_pages import GOOD, open_record, person_client, text

pytestmark = pytest.mark.django_db
child, hana, sam = pages.child, pages.hana, pages.sam  # the same practitioners and child, as fixtures here

SAM = {**GOOD, "service": "social_care", "role": "Social worker", "email": "sam@camden.example"}


def involve(client, cpid, data=GOOD):
    open_record(client, cpid, "child_protection")
    assert client.post(f"/children/{cpid}/involvement/new", data).status_code == 302


def test_a_practitioner_home_page_lists_the_children_they_work_with_linking_to_the_record(hana, child):
    before = text(hana.get("/home").content.decode())
    assert "Children you are working with" in before and "You have not recorded involvement" in before
    involve(hana, child)
    page = hana.get("/home").content.decode()
    assert f'href="/children/{child}"' in page and "Health visiting" in text(page)
    assert "Amelia" not in page and "Hartley" not in page  # no child data without a reason: the record asks


def test_a_second_practitioner_and_the_first_see_the_count_in_the_header_and_the_notification(
        hana, sam, child, django_capture_on_commit_callbacks):
    from contactpoint.access.models import User

    User.objects.filter(username="sam.social").update(email="sam@camden.example")
    involve(hana, child)
    assert "Notifications (" not in hana.get("/home").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        involve(sam, child, SAM)
    for client in (hana, sam):
        home = text(client.get("/home").content.decode())
        assert "Notifications (1 new)" in home and "You have 1 new notification" in home
        page = client.get("/notifications").content.decode()
        assert f'href="/children/{child}"' in page and "Amelia" not in page
        assert "Notifications (" not in client.get("/home").content.decode()  # read now
    assert "Another practitioner has started working with a child you work with" in text(
        hana.get("/notifications").content.decode())
    assert sorted(m.to[0] for m in mail.outbox) == ["hana@nhs.example", "sam@camden.example"]
    assert all("Amelia" not in m.body and child not in m.body and "Sign in to ContactPoint" in m.body
               for m in mail.outbox)
    assert AuditEntry.objects.filter(action="child.notification.read").count() == 2


def test_the_notifications_page_is_for_practitioners_only(child):
    client, _ = person_client("dan.data", role="data-manager")
    assert client.get("/notifications").status_code == 403
