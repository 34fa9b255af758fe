"""The rules of administration, through the pages an administrator uses: scope, no self-service, changes that
end sessions at once, the clearance clock, and an audit entry for every action."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import lxml.html
import pytest
import time_machine
from django.test import Client
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from contactpoint.access.models import LoginThrottle, Organisation, User
from contactpoint.access.preconditions import LAPSES
from contactpoint.audit.actions import AuditAction
from contactpoint.audit.models import AuditEntry
from tests.factories import make_person, sign_in, vouched_org

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
TODAY = date(2026, 11, 24)  # T0 in London


@pytest.fixture
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def la_admin(client, clock):
    admin = make_person("la.admin", role="org-admin")
    assert sign_in(client, admin).status_code == 302
    return admin


@pytest.fixture
def sam(clock):
    return make_person("sam.social", full_name="Sam Social")


def _text(response) -> str:
    return " ".join(lxml.html.fromstring(response.content).text_content().split())


def _error_summary(response) -> list[str]:
    page = lxml.html.fromstring(response.content)
    return [" ".join(li.text_content().split())
            for li in page.xpath('//div[contains(@class, "govuk-error-summary")]//li')]


def _date(prefix: str, day: date) -> dict[str, str]:
    return {f"{prefix}-day": str(day.day), f"{prefix}-month": str(day.month), f"{prefix}-year": str(day.year)}


def _signed_in(person, clock) -> Client:
    """The person, signed in on a browser of their own (a new TOTP time step: the code is not a replay)."""
    clock.shift(30)
    browser = Client()
    assert sign_in(browser, person).status_code == 302
    assert browser.get("/home").status_code == 200
    return browser


def _told_on_signed_out_page(browser: Client, precondition: str, visit: bool = True) -> None:
    if visit:
        response = browser.get("/home")
        assert response.status_code == 302 and response["Location"] == "/signed-out"
    page = _text(browser.get("/signed-out")).replace("&#39;", "'")
    assert LAPSES[precondition].message in page and f"What to do: {LAPSES[precondition].action}" in page
    assert browser.get("/home").status_code == 302  # the session really ended


# --- scope --------------------------------------------------------------------------------------------------

USER_URLS = ["", "/grant", "/revoke", "/suspend", "/reinstate", "/clearance", "/training", "/policy",
             "/token", "/token/confirm", "/token/reset", "/unlock", "/credentials"]


def _other_la() -> Organisation:
    return Organisation.objects.filter(kind="local_authority").exclude(code="LA-202").order_by("code").first()


def test_a_user_of_another_local_authority_is_not_found_anywhere(client, la_admin, sam):
    other_la = _other_la()
    outsider = make_person("out.sider", org=other_la.code, full_name="Out Sider")
    data = {"reason": "x", "reference": "1", "code": "000000", "version": "1", **_date("cleared_on", TODAY),
            **_date("completed_on", TODAY)}
    not_found = set()
    for suffix in USER_URLS:
        for method in (client.get, client.post):
            theirs = method(f"/admin/users/{outsider.user.pk}{suffix}", data).status_code
            nobodys = method(f"/admin/users/999999{suffix}", data).status_code
            # 404, exactly as for no such user (405 for a method the page does not take, before any lookup).
            assert theirs == nobodys and theirs in (404, 405), suffix
            if theirs == 404:
                not_found.add(suffix)
    assert not_found == set(USER_URLS)  # every page and action looked the user up, and did not find them
    listing = client.get("/admin/users", {"q": "sider"})
    assert "Out Sider" not in _text(listing)
    outsider.user.refresh_from_db()
    assert outsider.user.revoked_at is None and outsider.user.suspended_at is None
    assert not AuditEntry.objects.filter(actor="la.admin", target_user="out.sider").exists()


def test_the_users_of_a_vouched_organisation_are_in_scope(client, la_admin):
    school = vouched_org()
    head = make_person("hana.head", role="sch3-9", org=school.code, full_name="Hana Head")
    assert "Hana Head" in _text(client.get("/admin/users"))
    assert client.get(f"/admin/users/{head.user.pk}").status_code == 200
    response = client.post(f"/admin/users/{head.user.pk}/training", _date("completed_on", TODAY))
    assert response.status_code == 302


def test_a_national_partner_administrator_sees_only_the_partners_staff(client, clock, sam):
    partner_admin = make_person("np.admin", role="org-admin", org="NP-NSPCC")
    colleague = make_person("nia.partner", role="national-partner", org="NP-NSPCC", full_name="Nia Partner")
    sign_in(client, partner_admin)
    listing = _text(client.get("/admin/users"))
    assert "Nia Partner" in listing and "Sam Social" not in listing
    assert client.get(f"/admin/users/{sam.user.pk}").status_code == 404
    assert client.get(f"/admin/users/{colleague.user.pk}").status_code == 200


def test_an_organisation_another_authority_vouched_for_is_not_found(client, la_admin):
    other_la = _other_la()
    theirs = vouched_org(code="SCH-999999", name="Elsewhere Primary", la=other_la.code)
    assert client.get(f"/admin/organisations/{theirs.pk}/suspend").status_code == 404
    assert client.post(f"/admin/organisations/{theirs.pk}/suspend", {"reason": "x"}).status_code == 404
    assert client.post(f"/admin/organisations/{theirs.pk}/reinstate").status_code == 404
    assert "Elsewhere Primary" not in _text(client.get("/admin/organisations"))
    theirs.refresh_from_db()
    assert theirs.is_accredited


# --- nobody administers themselves --------------------------------------------------------------------------

def test_an_administrator_cannot_grant_themselves_access(client, la_admin):
    own = la_admin.user.pk
    response = client.post(f"/admin/users/{own}/grant")
    assert response.status_code == 200
    assert _error_summary(response) == ["Another administrator must do this for your own account."]
    assert lxml.html.fromstring(response.content).findtext(".//title").startswith("Error: ")
    assert not AuditEntry.objects.filter(action=AuditAction.ACCESS_GRANTED, actor="la.admin").exists()
    # Nor anything else about their own account.
    response = client.post(f"/admin/users/{own}/clearance", {**_date("cleared_on", TODAY), "reference": "1"})
    assert _error_summary(response) == ["Another administrator must do this for your own account."]
    assert "This is your own account" in _text(client.get(f"/admin/users/{own}"))


# --- changes that take effect at once -----------------------------------------------------------------------

def test_revoking_access_ends_the_users_sessions_on_their_next_request(client, la_admin, sam, clock):
    browser = _signed_in(sam, clock)
    response = client.post(f"/admin/users/{sam.user.pk}/revoke", {"reason": "Left the authority"})
    assert response.status_code == 302
    assert "Sam Social's access has been revoked" in _text(client.get(response["Location"]))
    # Revoking ends every session at once: the next request is refused, naming the condition and what to do.
    assert browser.get("/home")["Location"] == "/signed-out"
    _told_on_signed_out_page(browser, "access_granted", visit=False)
    # Signing in again is refused the same way.
    clock.shift(30)
    assert sign_in(browser, sam).status_code == 302
    _told_on_signed_out_page(browser, "access_granted")
    sam.user.refresh_from_db()
    assert sam.user.revoked_reason == "Left the authority"


def test_suspending_an_account_ends_its_sessions_and_reinstating_lets_it_back(client, la_admin, sam, clock):
    browser = _signed_in(sam, clock)
    response = client.post(f"/admin/users/{sam.user.pk}/suspend", {"reason": "Under investigation"})
    assert response.status_code == 302
    assert browser.get("/home")["Location"] == "/signed-out"
    clock.shift(30)
    sign_in(browser, sam)
    _told_on_signed_out_page(browser, "account_active")
    assert client.post(f"/admin/users/{sam.user.pk}/reinstate").status_code == 302
    _signed_in(sam, clock)


def test_suspending_the_vouched_organisation_refuses_its_users_at_once(client, la_admin, clock):
    school = vouched_org()
    head = make_person("hana.head", role="sch3-9", org=school.code)
    browser = _signed_in(head, clock)
    response = client.post(f"/admin/organisations/{school.pk}/suspend", {"reason": "Safeguarding concern"})
    assert response.status_code == 302
    _told_on_signed_out_page(browser, "organisation_accredited")
    clock.shift(30)
    sign_in(browser, head)
    _told_on_signed_out_page(browser, "organisation_accredited")  # and again, until reinstated
    assert client.post(f"/admin/organisations/{school.pk}/reinstate").status_code == 302
    _signed_in(head, clock)


def test_clearance_recorded_three_years_and_a_day_ago_refuses(client, la_admin, sam, clock):
    browser = _signed_in(sam, clock)
    response = client.post(f"/admin/users/{sam.user.pk}/clearance",
                           {**_date("cleared_on", date(2023, 11, 23)), "reference": "001234567890"})
    assert response.status_code == 302
    _told_on_signed_out_page(browser, "clearance_current")


def test_clearance_three_years_ago_today_has_just_run_out(client, la_admin, sam, clock):
    browser = _signed_in(sam, clock)
    client.post(f"/admin/users/{sam.user.pk}/clearance",
                {**_date("cleared_on", date(2023, 11, 24)), "reference": "001234567890"})
    _told_on_signed_out_page(browser, "clearance_current")


def test_sixty_days_before_clearance_runs_out_the_user_is_warned(client, la_admin, sam, clock):
    browser = _signed_in(sam, clock)
    home = _text(browser.get("/home"))
    assert "clearance runs out" not in home
    # Runs out on 23 January 2027, 60 days from today.
    client.post(f"/admin/users/{sam.user.pk}/clearance",
                {**_date("cleared_on", date(2024, 1, 23)), "reference": "001234567890"})
    home = _text(browser.get("/home"))
    assert "Your enhanced criminal records clearance runs out on 23 January 2027" in home
    # 61 days before: no warning yet.
    client.post(f"/admin/users/{sam.user.pk}/clearance",
                {**_date("cleared_on", date(2024, 1, 24)), "reference": "001234567890"})
    assert "clearance runs out" not in _text(browser.get("/home"))


def test_the_admin_page_shows_what_has_lapsed(client, la_admin, sam):
    User.objects.filter(pk=sam.user.pk).update(training_completed_on=None)
    page = _text(client.get(f"/admin/users/{sam.user.pk}"))
    assert "cannot use ContactPoint until every condition below holds" in page
    assert "Training Not completed" in page


# --- every action is audited --------------------------------------------------------------------------------

def _audited(action: AuditAction, target: str) -> int:
    return AuditEntry.objects.filter(action=action, actor="la.admin", target_user=target).count()


def _lock(person) -> None:
    from contactpoint.access.authentication import throttle_key
    from contactpoint.access.models import LoginThrottle

    LoginThrottle.objects.update_or_create(key=throttle_key(person.user.username),
                                           defaults={"locked_until": timezone.now() + timedelta(minutes=30)})


def test_each_action_writes_its_audit_entry(client, la_admin, sam, clock):
    pk = sam.user.pk
    steps = [
        (AuditAction.ACCESS_REVOKED, lambda: client.post(f"/admin/users/{pk}/revoke",
                                                         {"reason": "Moved team"})),
        (AuditAction.ACCESS_GRANTED, lambda: client.post(f"/admin/users/{pk}/grant")),
        (AuditAction.USER_SUSPENDED, lambda: client.post(f"/admin/users/{pk}/suspend", {"reason": "Check"})),
        (AuditAction.USER_REINSTATED, lambda: client.post(f"/admin/users/{pk}/reinstate")),
        (AuditAction.CLEARANCE_RECORDED, lambda: client.post(
            f"/admin/users/{pk}/clearance", {**_date("cleared_on", TODAY), "reference": "009876543210"})),
        (AuditAction.TRAINING_RECORDED, lambda: client.post(f"/admin/users/{pk}/training",
                                                            _date("completed_on", TODAY))),
        (AuditAction.POLICY_SIGNED, lambda: client.post(f"/admin/users/{pk}/policy", {"version": "1"})),
        (AuditAction.TOKEN_RESET, lambda: client.post(f"/admin/users/{pk}/token/reset")),
        (AuditAction.ACCOUNT_UNLOCKED, lambda: _lock(sam) or client.post(f"/admin/users/{pk}/unlock")),
        (AuditAction.PASSWORD_CHANGED, lambda: client.post(f"/admin/users/{pk}/credentials")),
    ]
    for action, step in steps:
        before = _audited(action, "sam.social")
        response = step()
        assert response.status_code in (200, 302), action
        assert _audited(action, "sam.social") == before + 1, action

    # Enrolling a token: begin (nothing to audit yet), then confirm.
    client.post(f"/admin/users/{pk}/token")
    device = TOTPDevice.objects.get(user=sam.user, confirmed=False)
    assert _audited(AuditAction.TOKEN_ENROLLED, "sam.social") == 0
    client.post(f"/admin/users/{pk}/token/confirm", {"code": f"{TOTP(device.bin_key).token():06d}"})
    assert _audited(AuditAction.TOKEN_ENROLLED, "sam.social") == 1

    la = Organisation.objects.get(code="LA-202")
    client.post("/admin/users/new", {"full_name": "Nina New", "username": "nina.new",
                                     "organisation": str(la.pk), "role": "sch3-1b"})
    assert _audited(AuditAction.USER_CREATED, "nina.new") == 1

    entry = AuditEntry.objects.filter(action=AuditAction.ACCESS_REVOKED, actor="la.admin").get()
    assert entry.actor_org == "LA-202" and entry.actor_role == "org-admin"
    assert entry.context["organisation"] == "LA-202"


def test_organisation_changes_are_audited(client, la_admin):
    client.post("/admin/organisations/new",
                {"name": "Agar Grove Primary", "code": "SCH-100001", "kind": "school"})
    school = Organisation.objects.get(code="SCH-100001")
    client.post(f"/admin/organisations/{school.pk}/suspend", {"reason": "Safeguarding concern"})
    client.post(f"/admin/organisations/{school.pk}/reinstate")
    for action in (AuditAction.ORGANISATION_CREATED, AuditAction.ORGANISATION_SUSPENDED,
                   AuditAction.ORGANISATION_REINSTATED):
        assert AuditEntry.objects.filter(action=action, actor="la.admin",
                                         context__organisation="SCH-100001").count() == 1, action


def test_unlocking_clears_the_lockout(client, la_admin, sam, clock):
    browser = Client()
    for _ in range(10):
        browser.post("/sign-in", {"username": "sam.social", "password": "wrong-password-x", "pin": sam.pin,
                                  "code": sam.code()})
    assert LoginThrottle.objects.filter(locked_until__isnull=False).count() == 1
    assert sign_in(browser, sam).status_code == 200  # locked
    response = client.post(f"/admin/users/{sam.user.pk}/unlock")
    assert response.status_code == 302
    assert "Sign-in has been unlocked for Sam Social" in _text(client.get(response["Location"]))
    clock.shift(30)
    assert sign_in(browser, sam).status_code == 302
