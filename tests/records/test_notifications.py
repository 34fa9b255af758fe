"""Practitioners told (issue 18): when a second practitioner records involvement with a child, both are told, in
the service and by an email with no child details; shielding and sensitive services respected; all audited."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core import mail

from contactpoint.access.models import User
from contactpoint.audit.models import AuditEntry
from contactpoint.children.models import Child
from contactpoint.records.involvements import end_involvement
from contactpoint.records.models import Notification
from contactpoint.records.notifications import EMAIL_BODY, notifications_for, unread_count
from contactpoint.vault.keyring import get_keyring
from tests.factories import make_person
from tests.records.test_involvements import CONSENT, NOW, record

pytestmark = pytest.mark.django_db


@pytest.fixture
def child():
    from tests.factories import make_record
    from tests.search.test_service import add

    [cpid] = add(make_record())
    return cpid


@pytest.fixture
def hana():
    from tests.factories import vouched_org

    org = vouched_org(code="NHS-RAL", name="Royal Free London", kind="health")
    user = make_person("hana.visitor", role="sch3-2", org=org.code, full_name="Hana Visitor").user
    User.objects.filter(pk=user.pk).update(email="hana.visitor@nhs.example")
    user.refresh_from_db()
    return user


@pytest.fixture
def sam():
    user = make_person("sam.social", full_name="Sam Okafor").user
    User.objects.filter(pk=user.pk).update(email="sam.okafor@camden.example")
    user.refresh_from_db()
    return user


def kinds() -> dict[str, str]:
    return {n.recipient.username: n.kind for n in Notification.objects.select_related("recipient")}


def test_the_first_practitioner_is_told_nothing(child, hana, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        record(hana, child)
    assert not Notification.objects.exists() and mail.outbox == []


def test_a_second_practitioner_and_the_first_are_both_told_in_the_service_by_email_and_audited(
        child, hana, sam, django_capture_on_commit_callbacks):
    record(hana, child)
    with django_capture_on_commit_callbacks(execute=True):
        record(sam, child, service="social_care", role="Social worker")
    assert kinds() == {"hana.visitor": "joined", "sam.social": "others"}
    assert unread_count(hana) == 1 and unread_count(sam) == 1
    assert sorted(m.to[0] for m in mail.outbox) == ["hana.visitor@nhs.example", "sam.okafor@camden.example"]
    for message in mail.outbox:  # no child details leave the system by email
        assert message.body == EMAIL_BODY
        for detail in ("Amelia", "Hartley", child, child[:4], "Agar", "NW1", "Health", "social", "2015"):
            assert detail not in message.body and detail not in message.subject
    sent = AuditEntry.objects.filter(action="child.notification.sent").order_by("seq")
    assert {e.target_user for e in sent} == {"hana.visitor", "sam.social"}
    assert all(e.subjects == [child] and e.actor == "sam.social" for e in sent)


def test_reading_notifications_marks_them_read_and_is_audited(child, hana, sam):
    record(hana, child)
    record(sam, child, service="social_care", role="Social worker")
    [shown] = notifications_for(hana, keyring=get_keyring(), now=NOW + timedelta(hours=1))
    assert shown.cpid == child and shown.unread and "Another practitioner" in shown.text
    assert unread_count(hana) == 0 and unread_count(sam) == 1
    read = AuditEntry.objects.get(action="child.notification.read")
    assert read.actor == "hana.visitor" and read.subjects == [child]
    [again] = notifications_for(hana, keyring=get_keyring(), now=NOW + timedelta(hours=2))
    assert not again.unread and AuditEntry.objects.filter(action="child.notification.read").count() == 1


def test_nobody_is_told_about_a_shielded_child(child, hana, sam, django_capture_on_commit_callbacks):
    record(hana, child)
    Child.objects.filter(cpid=child).update(shielded=True)
    with django_capture_on_commit_callbacks(execute=True):
        record(sam, child, service="social_care", role="Social worker")
    assert not Notification.objects.exists() and mail.outbox == []


def test_a_sensitive_service_tells_no_one_else_and_is_not_revealed_to_a_newcomer(child, hana, sam):
    record(hana, child, service="sexual_health", role="Nurse", ground=CONSENT)
    record(sam, child, service="social_care", role="Social worker")
    # Hana (sensitive) may be told someone joined: she sees the ordinary services. Sam is not told of Hana.
    assert kinds() == {"hana.visitor": "joined"}
    Notification.objects.all().delete()
    nina = make_person("nina.nurse", role="sch3-2", org="NHS-RAL", full_name="Nina Nurse").user
    record(nina, child, service="mental_health", role="Counsellor", ground=CONSENT)
    # Recording a sensitive service tells nobody; Nina sees Sam's ordinary service, so she is told others work here.
    assert kinds() == {"nina.nurse": "others"}


def test_a_practitioner_whose_involvement_has_ended_is_not_told(child, hana, sam):
    key = record(hana, child)
    end_involvement(hana, key, date(2026, 3, 1), keyring=get_keyring(), now=NOW)
    record(sam, child, service="social_care", role="Social worker")
    assert not Notification.objects.exists()
