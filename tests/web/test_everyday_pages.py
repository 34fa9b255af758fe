"""Issue 18, tried as a new user would: each finding a page test that failed before it was mended. (The browser
tests of the same issue, for what needs a browser, are in tests/browser/test_everyday_use.py.)"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import lxml.html
import pytest
import time_machine
from django.utils import timezone

from contactpoint.access.models import LoginThrottle, User
from contactpoint.audit.actions import DESCRIPTIONS, AuditAction
from contactpoint.audit.models import AuditEntry
from contactpoint.children.record import Carer
from tests.factories import make_person, make_record, sign_in
from tests.search.test_service import add

pytestmark = pytest.mark.django_db

SEARCH = {"reason": "child_protection", "family": "Hartley", "birthdate-day": "3", "birthdate-month": "6",
          "birthdate-year": "2015"}


def _open(client, cpid: str, reason: str = "child_protection") -> str:
    assert client.post(f"/children/{cpid}", {"reason": reason}).status_code == 302
    response = client.get(f"/children/{cpid}")
    assert response.status_code == 200
    return response.content.decode()


def _text(html: str) -> str:
    return " ".join(lxml.html.fromstring(html).text_content().split())


# --- finding 1: parents and carers ------------------------------------------------------------------------------

def test_parents_and_carers_are_lines_of_text_never_a_literal_br(client):
    sign_in(client, make_person())
    [cpid] = add(make_record(carers=(Carer("Jane Howell", "mother", True, "07700 900123"),)))
    html = _open(client, cpid)
    assert "&lt;br" not in html and "<br>Parental" not in _text(html)
    card = lxml.html.fromstring(html).xpath('//div[contains(@class, "govuk-summary-card")]'
                                             '[.//h2[contains(., "Parents and carers")]]')[0]
    value = card.xpath('.//dd[contains(@class, "govuk-summary-list__value")]')[0]
    lines = [t.strip() for t in value.itertext() if t.strip()]
    assert lines[:3] == ["Jane Howell", "Parental responsibility: Yes", "Phone: 07700 900123"]


# --- finding 6: words, not codes ---------------------------------------------------------------------------------

def test_every_audit_action_has_words_for_the_auditor():
    assert set(DESCRIPTIONS) == set(AuditAction)
    assert all(d and "." not in d and "_" not in d for d in DESCRIPTIONS.values())


def test_a_page_that_acts_on_a_child_names_the_child(client):
    sign_in(client, make_person())
    [cpid] = add(make_record())
    _open(client, cpid)
    involvement = _text(client.get(f"/children/{cpid}/involvement/new").content.decode())
    assert "Amelia Hartley" in involvement
    [shielded] = add(make_record(given="Bella", nhs="4010232137"), shielded=True)
    _open(client, shielded)
    override = _text(client.get(f"/children/{shielded}/override").content.decode())
    assert "Override shielding" in override and "Bella Hartley" in override


def test_a_page_never_names_a_child_the_user_has_not_opened(client):
    sign_in(client, make_person())
    [cpid] = add(make_record())
    # Without a view in the trail, the involvement page sends the user to state a reason first.
    assert client.get(f"/children/{cpid}/involvement/new").status_code == 302


# --- finding 8: what this user did ------------------------------------------------------------------------------

def test_what_a_user_did_is_only_their_own_actions_and_a_search_that_found_no_one_says_so(client):
    sam = make_person()
    sign_in(client, sam)
    client.post("/search", SEARCH)  # nobody is in the index
    client.logout()
    sign_in(client, make_person("la.auditor", role="auditor", org="LA-202"))
    client.get("/audit/reports/user", {"username": "sam.social"})  # the auditor's own entry, about sam
    html = client.get("/audit/reports/user", {"username": "sam.social"}).content.decode()
    tree = lxml.html.fromstring(html)
    own = tree.xpath('//h2[.="What they did"]/following-sibling::table[1]')[0].text_content()
    others = tree.xpath('//h2[.="What others did about their account"]/following-sibling::table[1]')[0] \
        .text_content()
    assert "Searched: no child found" in own and "the record was in the results" not in own
    assert "Signed in" in own and "auth.login.succeeded" not in html
    assert "Produced an access report" not in own and "Produced an access report" in others
    assert "la.auditor" in others


# --- finding 9: the review pair ---------------------------------------------------------------------------------

def test_the_review_pairs_evidence_agrees_with_the_records_beside_it(client):
    from tests.matching.test_review import queued_pair

    item = queued_pair()
    sign_in(client, make_person("dana.data", role="data-manager", org="LA-202"))
    html = client.get(f"/review/{item.pk}").content.decode()
    tree = lxml.html.fromstring(html)

    def card(n: int) -> dict[str, str]:
        cards = tree.xpath('//div[contains(concat(" ", @class, " "), " govuk-summary-card ")]')
        rows = cards[n - 1].xpath('.//div[contains(@class, "govuk-summary-list__row")]')
        return {" ".join(r.xpath("./dt")[0].text_content().split()): " ".join(r.xpath("./dd")[0].text_content()
                                                                              .split()) for r in rows}

    a, b = card(1), card(2)
    evidence = {" ".join(r.xpath("./th")[0].text_content().split()): " ".join(r.xpath("./td")[0].text_content()
                                                                               .split())
                for r in tree.xpath('//table[.//caption[contains(., "Comparison evidence")]]/tbody/tr')}
    # "Not known" in the evidence exactly where a record beside it says "Not known".
    for field in ("NHS number", "Unique pupil number", "Unique learner number"):
        unknown = "Not known" in (a[field], b[field])
        assert (evidence[field] == "Not known for one or both") == unknown, (field, evidence[field])
    assert evidence["Home and carers"] != "Not known for one or both"
    assert a["Parents and carers"] == b["Parents and carers"] == "Sarah Hartley (mother)"
    text = _text(html)
    # The reason it was queued reads as a sentence, never "because of the model is unsure".
    assert "because of" not in text and "Different NHS numbers." in text
    # The source's name (here its code); the two records' order is the queue's, not fixed.
    assert a["Local authority"] == "Camden" and "gp-camden" in (a["Held by"], b["Held by"])


# --- finding 10: start page, timeouts, lockout ------------------------------------------------------------------

def test_the_start_page_offers_sign_in(client):
    tree = lxml.html.fromstring(client.get("/").content.decode())
    assert tree.xpath('//main//a[@href="/sign-in"][contains(., "Sign in")]')


T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def test_after_the_idle_timeout_signing_in_again_returns_to_the_page(client):
    with time_machine.travel(T0, tick=False) as clock:
        person = make_person()
        sign_in(client, person)
        [cpid] = add(make_record())
        clock.shift(timedelta(minutes=16))
        response = client.get(f"/children/{cpid}")
        assert response["Location"] == "/signed-out"
        link = lxml.html.fromstring(client.get("/signed-out").content.decode()).xpath(
            '//main//a[contains(., "Sign in")]/@href')[0]
        assert link == f"/sign-in?next=%2Fchildren%2F{cpid}"
        clock.shift(timedelta(seconds=31))  # a fresh TOTP step
        back = client.post(link, {"username": "sam.social", "password": person.password, "pin": person.pin,
                                  "code": person.code()})
        assert back.status_code == 302 and back["Location"] == f"/children/{cpid}"


def test_signing_out_on_purpose_does_not_offer_the_page_back_to_the_next_person(client):
    sign_in(client, make_person())
    client.post("/sign-out")
    link = lxml.html.fromstring(client.get("/signed-out").content.decode()).xpath(
        '//main//a[contains(., "Sign in")]/@href')[0]
    assert link == "/sign-in"


def test_sign_in_never_returns_to_another_site(client):
    person = make_person()
    response = client.post("/sign-in?next=https://evil.example/", {
        "username": "sam.social", "password": person.password, "pin": person.pin, "code": person.code()})
    assert response["Location"] == "/home"


def test_staying_signed_in_restarts_the_idle_clock(client):
    with time_machine.travel(T0, tick=False) as clock:
        sign_in(client, make_person())
        html = client.get("/home").content.decode()
        dialog = lxml.html.fromstring(html).xpath('//dialog[@id="app-timeout"]')[0]
        assert dialog.get("data-idle-seconds") == "900" and "Stay signed in" in dialog.text_content()
        clock.shift(timedelta(minutes=14))
        assert client.post("/session/keep-alive").status_code == 204
        clock.shift(timedelta(minutes=14))
        assert client.get("/home").status_code == 200
        assert client.get("/session/keep-alive").status_code == 405  # a POST only


def test_a_locked_sign_in_says_when_to_try_again(client):
    with time_machine.travel(datetime(2026, 11, 24, 9, 0, 20, tzinfo=UTC), tick=False):
        person = make_person()
        for _ in range(10):
            html = client.post("/sign-in", {"username": "sam.social", "password": "wrong", "pin": person.pin,
                                            "code": "000000"}).content.decode()
        assert "You can try again at 09:31 (UK time)" in _text(html)
        again = client.post("/sign-in", {"username": "sam.social", "password": person.password,
                                         "pin": person.pin, "code": person.code()}).content.decode()
        assert "You can try again at 09:31 (UK time)" in _text(again)
    assert LoginThrottle.objects.exists()


# --- also: clearance --------------------------------------------------------------------------------------------

def test_an_expired_clearance_is_recorded_with_a_warning_and_access_waits_for_the_conditions(client):
    admin = make_person("ada.admin", role="org-admin")
    sign_in(client, admin)
    from contactpoint.access.models import Organisation

    new = client.post("/admin/users/new", {"full_name": "Femi Adeyemi", "username": "femi.adeyemi",
                                           "organisation": str(Organisation.objects.get(code="LA-202").pk),
                                           "role": "sch3-1a"})
    assert new.status_code == 200
    femi = User.objects.get(username="femi.adeyemi")
    refused = _text(client.post(f"/admin/users/{femi.pk}/grant").content.decode())
    assert "Record Femi Adeyemi's current enhanced criminal records clearance before granting access" in refused
    femi.refresh_from_db()
    assert femi.granted_at is None
    old = {"cleared_on-day": "1", "cleared_on-month": "3", "cleared_on-year": "2020", "reference": "001234567890"}
    client.post(f"/admin/users/{femi.pk}/clearance", old)
    page = _text(client.get(f"/admin/users/{femi.pk}").content.decode())
    assert "it ran out on 1 March 2023" in page and "cannot use ContactPoint until a current clearance" in page
    assert "has been recorded" in page
    today = timezone.localdate()
    client.post(f"/admin/users/{femi.pk}/clearance", {"cleared_on-day": "1", "cleared_on-month": str(today.month),
                                                      "cleared_on-year": str(today.year), "reference": "1"})
    refused = _text(client.post(f"/admin/users/{femi.pk}/grant").content.decode())
    assert "completed the ContactPoint training before granting access" in refused
    client.post(f"/admin/users/{femi.pk}/training", {"completed_on-day": str(today.day),
                                                     "completed_on-month": str(today.month),
                                                     "completed_on-year": str(today.year)})
    assert client.post(f"/admin/users/{femi.pk}/grant").status_code == 302
    femi.refresh_from_db()
    assert femi.granted_at is not None


# --- also: healthcheck and the API's entry points ---------------------------------------------------------------

def test_healthcheck_answers_and_says_nothing_else(client):
    response = client.get("/healthcheck")
    assert response.status_code == 200 and response.json() == {"status": "ok"}
    assert not AuditEntry.objects.filter(action__startswith="child").exists()


def test_the_api_root_lists_its_entry_points(client):
    response = client.get("/api/v1/")
    assert response.status_code == 200 and response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["openapi"] == "/api/v1/openapi.json" and body["documentation"] == "/api/v1/docs"
    assert "/api/v1/session" in {link["href"] for link in body["links"]}
    assert not re.search(r"Hartley|cpid", response.content.decode())


def test_the_api_root_answers_another_method_in_json(client):
    response = client.post("/api/v1/")
    assert response.status_code == 405 and response.json()["code"] == "method_not_allowed"
