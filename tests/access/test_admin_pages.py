"""The administration pages as an organisation administrator sees them: every page renders, bad input is shown
in a GOV.UK error summary, secrets are shown once, and nobody else gets in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import lxml.html
import pytest
import time_machine
from django.test import Client
from django.urls import get_resolver, reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from contactpoint.access.models import Organisation, SourceKey, SourceSystem, User
from contactpoint.audit.models import AuditEntry
from contactpoint.web.admin_users import qr_svg
from tests.factories import make_person, sign_in, vouched_org

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


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


def _page(response) -> lxml.html.HtmlElement:
    return lxml.html.fromstring(response.content)


def _title(response) -> str:
    return _page(response).findtext(".//title").strip()


def _error_summary(response) -> list[str]:
    """The messages in the GOV.UK error summary (empty when there is none)."""
    return [" ".join(a.text_content().split())
            for a in _page(response).xpath('//div[contains(@class, "govuk-error-summary")]//li')]


def _field_error(response, field: str) -> str:
    found = _page(response).xpath(f'//p[@id="id_{field}-error"]')
    return " ".join(found[0].text_content().split()) if found else ""


def _banner(response) -> str:
    found = _page(response).xpath('//div[contains(@class, "govuk-notification-banner--success")]')
    return " ".join(found[0].text_content().split()) if found else ""


def _date(prefix: str, day) -> dict[str, str]:
    return {f"{prefix}-day": str(day.day), f"{prefix}-month": str(day.month), f"{prefix}-year": str(day.year)}


def _admin_urls(user_pk: int, org_pk: int, source_pk: int, key_pk: int) -> list[str]:
    """Every administration URL, from the URL configuration (so a new page is not forgotten)."""
    urls = []
    for name, (possibilities, _pattern, _defaults, _converters) in get_resolver().reverse_dict.items():
        if not isinstance(name, str) or not name.startswith("admin-"):
            continue
        params = possibilities[0][1]
        if not params:
            urls.append(reverse(name))
        else:
            pk = {"admin-organisation": org_pk, "admin-source-key-new": source_pk,
                  "admin-source-key-revoke": key_pk}
            value = next((v for prefix, v in pk.items() if name.startswith(prefix)), user_pk)
            urls.append(reverse(name, args=[value]))
    return sorted(set(urls))


@pytest.fixture
def world(clock, sam):
    """One of everything an LA-202 administrator manages."""
    from django.utils import timezone

    from contactpoint.access.sources import issue_key, register_source
    from contactpoint.vault.keyring import get_keyring

    school = vouched_org()
    source = register_source(None, code="camden-social-care", name="Camden social care",
                             kind="la_social_care", organisation=Organisation.objects.get(code="LA-202"),
                             now=timezone.now(), keyring=get_keyring())
    issued = issue_key(None, source, now=timezone.now(), keyring=get_keyring())
    return {"user": sam.user.pk, "org": school.pk, "source": source.pk, "key": issued.key.pk}


# --- every page renders -------------------------------------------------------------------------------------

READ_PAGES = ["admin/users", "admin/users?q=sam&status=lapsed", "admin/users/{user}", "admin/users/new",
              "admin/users/{user}/revoke", "admin/users/{user}/suspend", "admin/users/{user}/clearance",
              "admin/users/{user}/training", "admin/users/{user}/policy", "admin/users/{user}/token",
              "admin/users/{user}/token/reset", "admin/users/{user}/credentials", "admin/organisations",
              "admin/organisations/new", "admin/organisations/{org}/suspend", "admin/sources",
              "admin/sources/new", "admin/sources/{source}/keys/new"]


def test_every_admin_page_renders_for_a_local_authority_administrator(client, la_admin, world):
    for template in READ_PAGES:
        url = "/" + template.format(**world)
        response = client.get(url)
        assert response.status_code == 200, url
        assert _title(response).endswith("– ContactPoint") and not _title(response).startswith("Error"), url
        assert not _error_summary(response), url
        assert "style=" not in response.content.decode(), url  # the CSP allows no inline styles
        for form in _page(response).xpath('//form[@method="post"]'):
            assert form.xpath('.//input[@name="csrfmiddlewaretoken"]'), f"{url}: a POST form without CSRF"


def test_the_navigation_reaches_the_three_administration_areas(client, la_admin):
    links = _page(client.get("/home")).xpath('//nav//a/@href')
    assert {"/admin/users", "/admin/organisations", "/admin/sources"} <= set(links)


def test_a_practitioner_gets_403_on_every_admin_page(client, clock, world):
    practitioner = make_person("pat.practitioner", role="sch3-1a")
    sign_in(client, practitioner)
    urls = _admin_urls(world["user"], world["org"], world["source"], world["key"])
    assert len(urls) >= 20
    for url in urls:
        assert client.get(url).status_code == 403, url
        assert client.post(url, {"reason": "x"}).status_code == 403, url
    refusals = AuditEntry.objects.filter(action="auth.access.refused", actor="pat.practitioner")
    assert refusals.count() == 2 * len(urls)
    assert User.objects.get(pk=world["user"]).revoked_at is None  # nothing changed


def test_an_anonymous_visitor_is_sent_to_sign_in(client, world):
    for url in _admin_urls(world["user"], world["org"], world["source"], world["key"]):
        response = client.post(url)
        assert response.status_code == 302 and response["Location"].startswith("/sign-in?next="), url


def test_a_change_without_the_csrf_token_is_refused(clock, sam):
    admin = make_person("la.admin", role="org-admin")
    browser = Client(enforce_csrf_checks=True)
    sign_in_page = browser.get("/sign-in")
    token = _page(sign_in_page).xpath('//input[@name="csrfmiddlewaretoken"]/@value')[0]
    browser.post("/sign-in", {"username": "la.admin", "password": admin.password, "pin": admin.pin,
                              "code": admin.code(), "csrfmiddlewaretoken": token})
    assert browser.get("/admin/users").status_code == 200
    response = browser.post(f"/admin/users/{sam.user.pk}/revoke", {"reason": "left"})
    assert response.status_code == 403
    assert User.objects.get(pk=sam.user.pk).revoked_at is None


# --- finding users ------------------------------------------------------------------------------------------

def test_users_are_found_by_name_or_username_whatever_the_case_and_filtered_by_status(client, la_admin, sam):
    make_person("lee.lapsed", full_name="Lee Lapsed")
    User.objects.filter(username="lee.lapsed").update(training_completed_on=None)

    def names(query: str = "", status: str = "all") -> list[str]:
        response = client.get("/admin/users", {"q": query, "status": status})
        assert response.status_code == 200
        return [a.text_content() for a in _page(response).xpath('//table//td[1]/a')]

    assert names() == ["La Admin", "Lee Lapsed", "Sam Social"]
    assert names("SOCIAL") == ["Sam Social"]
    assert names("lee.LAP") == ["Lee Lapsed"]
    assert names(status="ok") == ["La Admin", "Sam Social"]
    assert names(status="lapsed") == ["Lee Lapsed"]
    assert names("sam", status="lapsed") == []
    page = client.get("/admin/users", {"status": "lapsed"}).content.decode()
    assert "Cannot use ContactPoint" in page and "training not recorded" in page
    assert "govuk-tag--red" in page and "govuk-tag--green" not in page.split("<table")[1]
    assert 'href="/admin/users/new"' in page  # "Add a user"


def test_the_users_list_is_paged_keeping_the_search(client, la_admin, sam, monkeypatch):
    monkeypatch.setattr("contactpoint.web.admin_users.PAGE_SIZE", 2)
    make_person("lee.lapsed", full_name="Lee Lapsed")
    first = client.get("/admin/users", {"q": "", "status": "ok"})
    assert [a.text_content() for a in _page(first).xpath("//table//td[1]/a")] == ["La Admin", "Lee Lapsed"]
    following = _page(first).xpath('//a[@rel="next"]/@href')
    assert following == ["?q=&status=ok&page=2"]
    second = client.get("/admin/users" + following[0])
    assert [a.text_content() for a in _page(second).xpath("//table//td[1]/a")] == ["Sam Social"]
    assert _page(second).xpath('//a[@rel="prev"]/@href') == ["?q=&status=ok&page=1"]


def test_an_unknown_status_is_explained(client, la_admin):
    response = client.get("/admin/users", {"status": "bogus"})
    assert response.status_code == 200 and _error_summary(response) == ["Choose a status"]


# --- creating a user: the secrets are shown once ------------------------------------------------------------

def _new_user(client, **overrides):
    la = Organisation.objects.get(code="LA-202")
    data = {"full_name": "Nina New", "username": "nina.new", "email": "nina@example.gov.uk",
            "job_title": "Social worker", "organisation": str(la.pk), "role": "sch3-1a", **overrides}
    return client.post("/admin/users/new", data)


def test_creating_a_user_shows_the_temporary_password_and_pin_once(client, la_admin):
    response = _new_user(client)
    assert response.status_code == 200  # rendered, not redirected: nothing to reload later
    page = _page(response)
    password = page.xpath('//*[@id="temporary-password"]')[0].text_content()
    pin = page.xpath('//*[@id="temporary-pin"]')[0].text_content()
    assert page.xpath('//div[contains(@class, "govuk-panel")]')
    assert "in person" in response.content.decode()
    nina = User.objects.get(username="nina.new")
    assert nina.check_password(password) and nina.must_change_credentials
    from django.contrib.auth.hashers import check_password

    assert check_password(pin, nina.pin_hash)
    assert f'href="/admin/users/{nina.pk}"' in response.content.decode()
    # Never shown again: not on the user's page, and sending the form again does not create another account.
    assert password not in client.get(f"/admin/users/{nina.pk}").content.decode()
    again = _new_user(client)
    assert _field_error(again, "username").endswith("That username is already taken")
    assert password not in again.content.decode()


def test_the_new_user_form_explains_what_is_missing(client, la_admin):
    response = client.post("/admin/users/new", {"full_name": "", "username": "", "email": "not-an-email",
                                                "organisation": "", "role": ""})
    assert _title(response).startswith("Error: ")
    assert _error_summary(response) == [
        "Enter the person's full name", "Enter a username",
        "Enter an email address in the correct format, like name@example.gov.uk",
        "Choose the person's organisation", "Choose the person's role"]
    bad_username = _new_user(client, username="nina new!")
    assert _field_error(bad_username, "username").endswith(
        "Use letters, numbers, dots, hyphens and underscores only")


def test_the_role_must_be_one_the_organisation_can_hold(client, la_admin):
    response = client.get("/admin/users/new")
    offered = set(_page(response).xpath('//select[@name="role"]/option/@value'))
    assert "sch3-1a" in offered and "sch3-9" not in offered  # no school in scope yet
    school = vouched_org()
    offered = set(_page(client.get("/admin/users/new")).xpath('//select[@name="role"]/option/@value'))
    assert "sch3-9" in offered
    # The domain decides the pair: a school cannot hold a local authority social services role.
    response = _new_user(client, organisation=str(school.pk), role="sch3-1a")
    assert _error_summary(response) == ["Choose a role that people in this organisation can hold"]
    assert not User.objects.filter(username="nina.new").exists()
    assert _new_user(client, organisation=str(school.pk), role="sch3-9").status_code == 200
    assert User.objects.get(username="nina.new").organisation == school


def test_only_organisations_in_scope_are_offered(client, la_admin):
    other = Organisation.objects.filter(kind="local_authority").exclude(code="LA-202").first()
    offered = _page(client.get("/admin/users/new")).xpath('//select[@name="organisation"]/option/@value')
    assert str(other.pk) not in offered
    response = _new_user(client, organisation=str(other.pk))
    assert _error_summary(response) == ["Choose the person's organisation"]
    assert not User.objects.filter(username="nina.new").exists()


# --- forms with bad input -----------------------------------------------------------------------------------

def test_a_future_clearance_date_is_refused_in_the_error_summary(client, la_admin, sam):
    tomorrow = T0.date() + timedelta(days=1)
    response = client.post(f"/admin/users/{sam.user.pk}/clearance",
                           {**_date("cleared_on", tomorrow), "reference": "001234567890"})
    assert response.status_code == 200 and _title(response).startswith("Error: ")
    assert _error_summary(response) == ["Date of the clearance certificate must be today or in the past"]
    assert _page(response).xpath('//a[@href="#id_cleared_on"]')
    assert _page(response).xpath('//input[@name="cleared_on-day"]/@value') == [str(tomorrow.day)]  # kept
    assert not AuditEntry.objects.filter(action="admin.clearance.recorded", actor="la.admin").exists()


def test_clearance_needs_a_real_date_and_a_reference(client, la_admin, sam):
    response = client.post(f"/admin/users/{sam.user.pk}/clearance",
                           {"cleared_on-day": "31", "cleared_on-month": "2", "cleared_on-year": "2026",
                            "reference": " "})
    assert _error_summary(response) == ["Date of the clearance certificate must be a real date",
                                        "Enter the certificate number or vetting reference"]
    response = client.post(f"/admin/users/{sam.user.pk}/clearance", {"reference": "001234567890"})
    assert _error_summary(response) == ["Enter the date of the clearance certificate"]


@pytest.mark.parametrize("path,heading", [("revoke", "Revoke access"), ("suspend", "Suspend the account")])
def test_a_missing_reason_is_refused_in_the_error_summary(client, la_admin, sam, path, heading):
    response = client.post(f"/admin/users/{sam.user.pk}/{path}", {"reason": "  "})
    assert response.status_code == 200 and _title(response) == f"Error: {heading} – ContactPoint"
    assert _error_summary(response) == ["Enter the reason"]
    assert _field_error(response, "reason").endswith("Enter the reason")
    sam.user.refresh_from_db()
    assert sam.user.revoked_at is None and sam.user.suspended_at is None


def test_a_missing_reason_to_suspend_an_organisation_is_refused(client, la_admin):
    school = vouched_org()
    response = client.post(f"/admin/organisations/{school.pk}/suspend", {"reason": ""})
    assert _error_summary(response) == ["Enter the reason"]
    school.refresh_from_db()
    assert school.is_accredited


def test_a_future_training_date_and_an_unknown_policy_version_are_refused(client, la_admin, sam):
    response = client.post(f"/admin/users/{sam.user.pk}/training",
                           _date("completed_on", T0.date() + timedelta(days=3)))
    assert _error_summary(response) == ["Date the training was completed must be today or in the past"]
    response = client.post(f"/admin/users/{sam.user.pk}/policy", {"version": "7"})
    assert _error_summary(response) == ["Choose the version that was signed"]


def test_the_policy_form_offers_the_current_version_first(client, la_admin, sam):
    from contactpoint.access.models import PolicyVersion

    PolicyVersion.objects.create(version=2, published_at=T0, summary="v2")
    User.objects.filter(pk=la_admin.user.pk).update(policy_version_signed=2)  # else they are sent to sign it
    selected = _page(client.get(f"/admin/users/{sam.user.pk}/policy")).xpath(
        '//select[@name="version"]/option[@selected]/@value')
    assert selected == ["2"]


# --- Post/Redirect/Get with a success banner shown once -----------------------------------------------------

def test_a_change_redirects_to_the_users_page_with_a_success_banner_shown_once(client, la_admin, sam):
    response = client.post(f"/admin/users/{sam.user.pk}/training", _date("completed_on", T0.date()))
    assert response.status_code == 302 and response["Location"] == f"/admin/users/{sam.user.pk}"
    page = client.get(response["Location"])
    assert "Sam Social's training has been recorded" in _banner(page)
    assert _banner(client.get(response["Location"])) == ""


# --- enrolling a TOTP token ---------------------------------------------------------------------------------

def test_enrolling_a_totp_token_end_to_end(client, la_admin, sam, clock):
    assert client.get(f"/admin/users/{sam.user.pk}/token").status_code == 200
    response = client.post(f"/admin/users/{sam.user.pk}/token")
    assert response.status_code == 200
    page = _page(response)
    svg = page.xpath("//svg")
    qr = [s for s in svg if "app-qr-code" in (s.get("class") or "")]
    assert len(qr) == 1 and qr[0].get("style") is None and not qr[0].xpath(".//*[@style]")
    device = TOTPDevice.objects.get(user=sam.user, confirmed=False)
    import base64

    secret = page.xpath('//*[@id="totp-secret"]')[0].text_content().replace(" ", "")
    assert base64.b32decode(secret + "=" * (-len(secret) % 8)) == device.bin_key

    wrong = client.post(f"/admin/users/{sam.user.pk}/token/confirm", {"code": "000000"})
    assert _error_summary(wrong) == [
        "The code is not right; check the token shows the same account and try again"]
    assert "app-qr-code" not in wrong.content.decode()  # the secret is not shown a second time

    code = f"{TOTP(device.bin_key).token():06d}"
    response = client.post(f"/admin/users/{sam.user.pk}/token/confirm", {"code": code})
    assert response.status_code == 302 and response["Location"] == f"/admin/users/{sam.user.pk}"
    assert "A security token has been enrolled for Sam Social" in _banner(client.get(response["Location"]))
    tokens = TOTPDevice.objects.filter(user=sam.user).values_list("pk", "confirmed")
    assert list(tokens) == [(device.pk, True)]  # the old token is gone
    assert AuditEntry.objects.filter(action="auth.token.enrolled", actor="la.admin",
                                     target_user="sam.social").exists()

    # The person signs in with the new token (the old one is gone).
    clock.shift(30)
    person = Client()
    old = person.post("/sign-in", {"username": "sam.social", "password": sam.password, "pin": sam.pin,
                                   "code": sam.code()})
    assert old.status_code == 200
    clock.shift(30)
    new_code = f"{TOTP(device.bin_key).token():06d}"
    signed_in = person.post("/sign-in", {"username": "sam.social", "password": sam.password, "pin": sam.pin,
                                         "code": new_code})
    assert signed_in.status_code == 302 and person.get("/home").status_code == 200


def test_the_qr_code_svg_needs_no_inline_style():
    svg = qr_svg("otpauth://totp/ContactPoint:sam.social?secret=GEZDGNBVGY3TQOJQ&issuer=ContactPoint")
    assert svg.startswith("<svg ") and "style" not in svg and "<?xml" not in svg
    assert 'role="img"' in svg and "aria-label=" in svg


def test_resetting_tokens_asks_first_then_removes_them(client, la_admin, sam):
    page = client.get(f"/admin/users/{sam.user.pk}/token/reset")
    assert "govuk-warning-text" in page.content.decode()
    response = client.post(f"/admin/users/{sam.user.pk}/token/reset")
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=sam.user).exists()


# --- reset password and PIN ---------------------------------------------------------------------------------

def test_resetting_credentials_shows_the_new_ones_once(client, la_admin, sam):
    response = client.post(f"/admin/users/{sam.user.pk}/credentials")
    assert response.status_code == 200
    page = _page(response)
    password = page.xpath('//*[@id="temporary-password"]')[0].text_content()
    pin = page.xpath('//*[@id="temporary-pin"]')[0].text_content()
    sam.user.refresh_from_db()
    assert sam.user.check_password(password) and not sam.user.check_password(sam.password)
    assert sam.user.must_change_credentials
    from django.contrib.auth.hashers import check_password

    assert check_password(pin, sam.user.pin_hash)
    assert password not in client.get(f"/admin/users/{sam.user.pk}").content.decode()


# --- organisations ------------------------------------------------------------------------------------------

def test_vouching_for_an_organisation_and_suspending_and_reinstating_it(client, la_admin):
    response = client.post("/admin/organisations/new", {"name": "Agar Grove Primary", "code": "sch-100001",
                                                        "kind": "school"})
    assert response.status_code == 302 and response["Location"] == "/admin/organisations"
    page = client.get("/admin/organisations")
    assert "Agar Grove Primary (SCH-100001) is accredited" in _banner(page)
    school = Organisation.objects.get(code="SCH-100001")
    assert school.vouched_by.code == "LA-202" and school.kind == "school"
    row = _page(page).xpath('//tr[td[1]="Agar Grove Primary"]')[0]
    assert [" ".join(td.text_content().split()) for td in row.xpath("td")][:5] == [
        "Agar Grove Primary", "SCH-100001", "School", "Accredited", "0"]

    again = client.post("/admin/organisations/new",
                        {"name": "Another", "code": "SCH-100001", "kind": "school"})
    assert _error_summary(again) == ["Enter a code not already used by another organisation"]
    not_a_kind = client.post("/admin/organisations/new",
                             {"name": "X", "code": "X-1", "kind": "local_authority"})
    assert _error_summary(not_a_kind) == ["Choose the kind of organisation"]

    response = client.post(f"/admin/organisations/{school.pk}/suspend", {"reason": "Safeguarding concern"})
    assert response.status_code == 302
    page = client.get("/admin/organisations")
    assert "accreditation has been suspended" in _banner(page)
    assert "Suspended" in page.content.decode() and "Safeguarding concern" in page.content.decode()
    assert client.post(f"/admin/organisations/{school.pk}/reinstate").status_code == 302
    school.refresh_from_db()
    assert school.is_accredited and school.suspended_reason == ""


def test_a_national_partner_administrator_is_told_only_a_local_authority_vouches(client, clock):
    partner_admin = make_person("np.admin", role="org-admin", org="NP-NSPCC")
    sign_in(client, partner_admin)
    assert "Only a local authority vouches" in client.get("/admin/organisations").content.decode()
    response = client.post("/admin/organisations/new", {"name": "X", "code": "X-1", "kind": "school"})
    assert _error_summary(response) == ["Only a local authority can vouch for another organisation."]


# --- source systems -----------------------------------------------------------------------------------------

def test_registering_a_source_issuing_a_key_once_and_revoking_it(client, la_admin):
    la = Organisation.objects.get(code="LA-202")
    response = client.post("/admin/sources/new", {"name": "Camden social care", "code": "camden-social-care",
                                                  "kind": "la_social_care", "organisation": str(la.pk)})
    assert response.status_code == 302 and response["Location"] == "/admin/sources"
    assert "Camden social care has been registered" in _banner(client.get("/admin/sources"))
    source = SourceSystem.objects.get(code="camden-social-care")

    bad = client.post("/admin/sources/new", {"name": "Again", "code": "camden-social-care", "kind": "other",
                                             "organisation": str(la.pk)})
    assert _error_summary(bad) == ["A source system with that code already exists"]
    no_scope = client.post(f"/admin/sources/{source.pk}/keys/new", {})
    assert _error_summary(no_scope) == ["Choose what the key may do"]

    issued = client.post(f"/admin/sources/{source.pk}/keys/new",
                         {"scopes": ["feed:records:submit", "feed:discrepancies:read"]})
    assert issued.status_code == 200
    token = _page(issued).xpath('//*[@id="api-key"]')[0].text_content()
    key = SourceKey.objects.get(source=source)
    assert token.startswith(f"cpk_{key.prefix}_")
    listing = client.get("/admin/sources").content.decode()
    assert key.prefix in listing and token not in listing and "Rotate the key" in listing

    response = client.post(f"/admin/sources/keys/{key.pk}/revoke")
    assert response.status_code == 302
    assert "has been revoked" in _banner(client.get("/admin/sources"))
    key.refresh_from_db()
    assert key.revoked_at is not None
