"""Issue 18: axe finds nothing, and nothing scrolls sideways, at 1280 px and 375 px on EVERY page a user can
reach with GET, each seen by the role that may see it, with data on it (a record with involvements, a review
pair, an alert, a held row, discrepancies, a shielded child, users, sources), with a form's errors shown where
a page has a form, and the 404 page.

Which pages there are comes from the URL configuration (as in tests/test_url_protection.py): a new page that
this walk does not visit, and that ``EXCLUDED`` does not name with a reason, fails the test by name. One test,
one browser context, one sign-in per role: the data is set up once, before the browser looks."""

from __future__ import annotations

import hashlib
from datetime import date, timedelta
from urllib.parse import urlparse

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.urls.exceptions import Resolver404
from django.utils import timezone
from django_otp_webauthn.models import WebAuthnCredential

from tests.browser.conftest import assert_accessible, sign_in
from tests.factories import make_person, make_record, vouched_org
from tests.factories import sign_in as client_sign_in

# What axe judges is the markup, which is the same whichever database filled it in: the SQLite pass is enough,
# and the PostgreSQL pass (which proves the queries) is a minute shorter without it.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.once]

THIRD_PARTY = ("django_otp_webauthn.", "django.views.i18n", "ninja.")

# Addresses that are not pages a person reaches with GET, each with the reason.
EXCLUDED = {
    "amendment-withdraw": "POST only (the button on the change's page)",
    "healthcheck": "JSON for load balancers",
    "healthcheck-live": "JSON for load balancers",
    "healthcheck-ready": "JSON for load balancers",
    "metrics": "plain text for the operator's scraper, behind a bearer token",
    "session-keep-alive": "POST only, answers 204 (the timeout warning's 'Stay signed in')",
    "sign-in-complete": "redirect only: where the security-key step lands",
    "admin-user-grant": "POST only (the button on the user's page)",
    "admin-user-reinstate": "POST only (the button on the user's page)",
    "admin-user-unlock": "POST only (the button on the user's page)",
    "admin-user-token-confirm": "POST only (the form on the token page)",
    "admin-organisation-reinstate": "POST only (the button on the organisations page)",
    "admin-source-key-revoke": "POST only (the button on the sources page)",
    "audit-alert-acknowledge": "POST only (the button on the alert page)",
    "audit-alert-resolve": "POST only (the form on the alert page)",
    "lifecycle-missing-education-csv": "a CSV download, not a page (tests/lifecycle/test_missing_education.py)",
}


def _walk(patterns, prefix: str = ""):
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from _walk(p.url_patterns, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            yield prefix + str(p.pattern), p


def page_routes() -> dict[str, str]:
    """Every web view's URL name and route (the JSON API and FHIR have their own walker: tests/api)."""
    out = {}
    for route, pattern in _walk(get_resolver().url_patterns):
        module = getattr(pattern.callback, "__module__", "")
        if module.startswith(THIRD_PARTY) or route.startswith(("api/", "fhir/")):
            continue
        out[pattern.name] = route
    return out


class Walk:
    """Visits pages, runs axe on each at both widths, and remembers which URL names it saw."""

    def __init__(self, page) -> None:
        self.page = page
        self.seen: set[str] = set()
        self.failures: list[str] = []

    def check(self, label: str = "") -> None:
        path = urlparse(self.page.url).path
        try:
            name = resolve(path).url_name or path
        except Resolver404:
            name = "404"
        try:
            assert_accessible(self.page)
        except AssertionError as e:
            self.failures.append(f"{name} {label} ({path}): {e}")
        self.seen.add(name)

    def go(self, url: str, label: str = "", status: int = 200, shows: str = "", check: bool = True) -> None:
        """Opens ``url`` (no redirect), which must show ``shows`` (the data the page is for), and checks it
        (unless ``check`` is False: a page checked already, opened again to fill in its form)."""
        response = self.page.goto(url)
        assert response is not None and response.status == status, (url, response and response.status)
        assert urlparse(self.page.url).path == urlparse(url).path, f"{url} went to {self.page.url}"
        if shows:
            assert shows in self.page.locator("main").inner_text(), f"{url} does not show {shows!r}"
        if check:
            self.check(label)

    def as_(self, person) -> None:
        self.page.context.clear_cookies()
        sign_in(self.page, person)
        self.check("home")

    def submit(self, button: str, data: dict[str, str] | None = None, label: str = "") -> None:
        """Fills the form's fields by name (text, select, radio or checkbox) and presses the button."""
        for name, value in (data or {}).items():
            field = self.page.locator(f"[name='{name}']")
            kind = field.first.evaluate("e => e.tagName === 'SELECT' ? 'select' : (e.type || '')")
            if kind == "select":
                field.select_option(value)
            elif kind in ("radio", "checkbox"):
                self.page.locator(f"[name='{name}'][value='{value}']").check()
            else:
                field.fill(value)
        with self.page.expect_navigation():
            self.page.get_by_role("button", name=button, exact=True).click()
        self.check(label)

    def open_record(self, cpid: str) -> None:
        self.go(f"/children/{cpid}", "asking the reason", check="child-record" not in self.seen)
        self.page.locator("input[name='reason']").first.check()
        with self.page.expect_navigation():
            self.page.get_by_role("button", name="Continue").click()
        self.check("the record")


def _client(person) -> Client:
    client = Client()
    assert client_sign_in(client, person).status_code == 302
    return client


def _open(client: Client, cpid: str, reason: str = "child_protection") -> None:
    """Gives the reason, then views the record (what the involvement pages ask first)."""
    assert client.post(f"/children/{cpid}", {"reason": reason}).status_code == 302
    assert client.get(f"/children/{cpid}").status_code == 200


def _date(prefix: str, day: date) -> dict[str, str]:
    return {f"{prefix}-day": str(day.day), f"{prefix}-month": str(day.month), f"{prefix}-year": str(day.year)}


INVOLVED = {"service": "health_visiting", "role": "Health visitor", "phone": "020 7946 0000",
            "email": "hana.visitor@nhs.example", **_date("start_date", date(2026, 1, 5))}
CONSENT = {"basis": "consent", "consent_by": "The young person", "consent_how": "in_person",
           **_date("consent_on", date(2026, 11, 20))}


def _reported_move(shielded: str, handed: str) -> int:
    """A shielded child's move reported by a feed (lifecycle.moves), and a hand-over notice for another."""
    from django.utils import timezone

    from contactpoint.children.models import Child
    from contactpoint.children.store import cipher_for
    from contactpoint.lifecycle.common import new_key, seal
    from contactpoint.lifecycle.models import HandOver, MoveReport
    from contactpoint.vault.keyring import get_keyring

    child, key = Child.objects.get(cpid=shielded), new_key()
    report = MoveReport.objects.create(key=key, child=child, responsible_la="202", reported_at=timezone.now(),
                                       payload=seal(cipher_for(get_keyring(), child), "move", key, {"la": "206"}))
    HandOver.objects.create(child=Child.objects.get(cpid=handed), from_la="206", to_la="202", at=timezone.now(),
                            how=HandOver.How.FEED)
    return report.pk


def _world() -> dict:
    """Everything the pages show, made the way the other tests make it, before the browser looks."""
    from contactpoint.lifecycle.models import SealedOpening, ShieldDecision
    from contactpoint.matching.models import ReviewItem
    from contactpoint.records.models import BrokeringRequest, PractitionerInvolvement
    from tests.lifecycle.support import born, lifecycle_run
    from tests.lifecycle.test_pages import SHIELD
    from tests.matching.test_review import AMELIA, NOW, feed, health_org, source
    from tests.search.test_service import add
    from tests.web.test_review_pages import _school_items

    w: dict = {}
    # Amelia, from a GP and a school that disagree about her date of birth (discrepancies).
    w["cpid"] = _school_items().cpid
    # Bella, whom a second GP and a second school may or may not share (a review pair), and a row held back.
    bella = AMELIA | {"given_name": "Bella", "family_name": "Rowe", "date_of_birth": "2014-02-11",
                      "address_line_1": "3 Leighton Road", "postcode": "NW5 2QE", "carer_1_name": "Tom Rowe"}
    gp = source("gp-kentish", "gp_registrations", health_org("GP-F83005", "Kentish Town Health Centre"))
    school = source("st-pauls", "school_census", vouched_org("SCH-100002", "St Paul's Primary", "school"))
    feed(gp, bella | {"source_record_id": "GP-7", "nhs_number": "9434765870"}, now=NOW - timedelta(days=1))
    feed(school, bella | {"source_record_id": "S-7", "nhs_number": "4010232137", "setting_urn": "100002",
                          "setting_name": "St Paul's Primary"})
    feed(gp, bella | {"source_record_id": "GP-8", "given_name": "Cleo", "date_of_birth": ""})
    w["pair"] = ReviewItem.objects.order_by("pk").first().pk
    w["source"] = gp.pk
    [w["shielded"]] = add(make_record(given="Dina", family="Marsh", nhs=None), shielded=True)
    w["unshielded"] = born(date(2016, 4, 9), given="Evan", family="Marsh")
    w["move"] = _reported_move(w["shielded"], w["unshielded"])
    w["young"] = born(timezone.localdate() - timedelta(days=17 * 365), given="Fern", family="Marsh")
    w["adult"] = born(timezone.localdate() - timedelta(days=18 * 366), given="Gus", family="Marsh")
    w["sealed"] = born(date(2015, 1, 2), given="Hope", family="Marsh")
    lifecycle_run()  # Gus, 18, is archived

    sam = make_person("sam.social", full_name="Sam Okafor")
    hana = make_person("hana.visitor", role="sch3-2", full_name="Hana Visitor",
                       org=vouched_org(code="NHS-RAL", name="Royal Free London", kind="health").code)
    dana = make_person("dana.data", role="data-manager", full_name="Dana Data")
    dev = make_person("dev.two", role="data-manager", full_name="Dev Two")
    w["people"] = {"sam": sam, "hana": hana, "dana": dana}

    # Sam is Amelia's lead professional; Hana works with her through a sensitive service; Sam asks to be put in
    # touch with that service.
    s = _client(sam)
    cpid = w["cpid"]
    _open(s, cpid)
    assert s.post(f"/children/{cpid}/involvement/new", {**INVOLVED, "service": "social_care", "role": "Social worker",
                                                        "flags": ["lead_professional"]}).status_code == 302
    h = _client(hana)
    _open(h, cpid, "health")
    h.post(f"/children/{cpid}/involvement/new", {**INVOLVED, "service": "sexual_health", "role": "Nurse"})
    assert h.post(f"/children/{cpid}/involvement/consent", CONSENT).status_code == 302
    w["mine"] = PractitionerInvolvement.objects.get(user=sam.user).key
    w["sensitive"] = PractitionerInvolvement.objects.get(user=hana.user).key
    _open(s, cpid)
    s.post(f"/children/{cpid}/contact-request", {"message": "Strategy meeting on Friday"})
    w["brokering"] = BrokeringRequest.objects.get().pk

    # An override of Dina's shield, which the monitor turns into an alert for the auditors.
    o = _client(make_person("olu.police", role="sch3-1a", full_name="Olu Adebayo"))
    _open(o, w["shielded"])
    assert o.post(f"/children/{w['shielded']}/override").status_code == 302
    for command in (("monitor", "run", "--once"), ("audit", "checkpoint")):
        call_command(*command)
    from contactpoint.monitoring.models import Alert

    w["alert"] = Alert.objects.order_by("pk").first().pk

    # A second officer proposes shielding Evan, and asks to open Hope's sealed record.
    d = _client(dev)
    today = timezone.localdate()
    assert d.post(f"/lifecycle/children/{w['unshielded']}/shield", {
        **SHIELD, **_date("asked_on_1", today), **_date("review_on", today + timedelta(days=90))}).status_code == 302
    w["decision"] = ShieldDecision.objects.get().pk
    d.post(f"/lifecycle/children/{w['sealed']}/new-identity", {"kind": "adoption", "given": "Grace",
                                                                "family": "Okafor"})
    assert d.post("/lifecycle/sealed", {"contactpoint_id": w["sealed"], "purpose": "serious_case_review",
                                        "details": "Serious case review 2026/11 ordered"}).status_code == 302
    w["opening"] = SealedOpening.objects.get().pk
    # A second data manager proposes a new NHS number for Amelia (issue 19: four eyes for identifiers).
    from contactpoint.records import amendments
    from contactpoint.vault.keyring import get_keyring

    w["proposal"] = amendments.amend(dev.user, w["cpid"], "nhs_number", {"nhs_number": "9434765870"},
                                     "The GP's number belongs to a sibling.", keyring=get_keyring(),
                                     now=timezone.now()).key
    # The browser signs the same people in again within the same 30 seconds: let their codes be used again.
    from django_otp.plugins.otp_totp.models import TOTPDevice

    TOTPDevice.objects.update(last_t=-1)
    return w


def test_axe_finds_nothing_on_every_page_at_both_widths(page):
    w = _world()
    walk = Walk(page)
    people = w["people"]
    cpid, key = w["cpid"], w["mine"]

    # --- no one signed in --------------------------------------------------------------------------------------
    walk.go("/")
    walk.go("/sign-in")
    walk.submit("Sign in", label="with errors")
    walk.go("/signed-out")
    walk.go("/no-such-page", status=404, shows="Page not found")

    # --- someone with a security key: password and PIN, then the key's own step -------------------------------
    kay = make_person("kay.key", full_name="Kay Key")
    WebAuthnCredential.objects.create(
        user=kay.user, name="key", confirmed=True, credential_id=b"k1", public_key=b"p",
        aaguid="00000000-0000-0000-0000-000000000000", credential_id_sha256=hashlib.sha256(b"k1").hexdigest())
    walk.go("/sign-in", check=False)
    walk.submit("Sign in", {"username": "kay.key", "password": kay.password, "pin": kay.pin}, "the key's step")
    assert urlparse(page.url).path == "/sign-in/security-key"
    assert "Use your security key" in page.locator("main").inner_text()
    page.context.clear_cookies()

    # --- a social worker ---------------------------------------------------------------------------------------
    walk.as_(people["sam"])
    for url in ("/account", "/account/credentials", "/account/policy", "/account/security-key", "/sign-out",
                "/notifications"):
        walk.go(url)
    walk.go("/search")
    walk.submit("Search", {"reason": "child_protection", "family": "Hartley"}, "too little detail")
    walk.submit("Search", {"reason": "child_protection", "family": "Hartley", **_date("birthdate", date(2015, 6, 3))},
                "results")
    walk.open_record(cpid)
    assert "Hana Visitor" not in page.locator("main").inner_text()  # a sensitive service: only that one is involved
    assert "Sam Okafor" in page.locator("main").inner_text()
    for url in (f"/children/{cpid}/involvement/new", f"/children/{cpid}/involvement/{key}/change",
                f"/children/{cpid}/involvement/{key}/end", f"/children/{cpid}/involvement/{key}/withdraw",
                f"/children/{cpid}/contact-request"):
        walk.go(url)
    walk.go(f"/children/{cpid}/involvement/new", check=False)
    walk.submit("Continue", {"role": "", "phone": "", "email": ""}, "with errors")
    walk.go(f"/children/{cpid}/contact-request")
    walk.submit("Send request", {"message": "Case conference on Monday"}, "sent")
    walk.open_record(w["shielded"])
    walk.go(f"/children/{w['shielded']}/override")

    # --- a health visitor: a sensitive service asks for consent; taking the lead asks to confirm -----------------
    walk.as_(people["hana"])
    walk.open_record(cpid)
    walk.go(f"/children/{cpid}/involvement/new", check=False)
    walk.submit("Continue", {**INVOLVED, "service": "sexual_health", "role": "Nurse"})
    walk.submit("Record involvement", {}, "with errors")
    walk.go(f"/children/{cpid}/involvement/new", check=False)
    walk.submit("Continue", {**INVOLVED, "flags": "lead_professional"})
    walk.submit("Continue", {}, "with errors")
    # On a shielded record the question is the neutral one, whether or not anyone is lead.
    walk.open_record(w["shielded"])
    walk.go(f"/children/{w['shielded']}/involvement/new", check=False)
    walk.submit("Continue", {**INVOLVED, "flags": "lead_professional"})

    # --- a teacher ---------------------------------------------------------------------------------------------
    walk.as_(make_person("tia.teacher", role="sch3-9", org="SCH-100001", full_name="Tia Teacher"))
    walk.open_record(cpid)

    # --- a local authority data manager ------------------------------------------------------------------------
    walk.as_(people["dana"])
    walk.go("/home", shows="Possible matches to review", check=False)  # the home page, with work waiting
    walk.go("/review")
    walk.go(f"/review/{w['pair']}", shows="Bella")
    walk.submit("Save decision", {}, "with errors")
    walk.submit("Save decision", {"decision": "link", "note": "Same mother and home."}, "linked")
    walk.go("/review/history")
    from contactpoint.matching.models import Merge

    walk.go(f"/review/merges/{Merge.objects.get().pk}/split")
    walk.go("/review/held", shows="1 row held")
    walk.go("/review/split")
    walk.submit("Find the record", {"cpid": cpid}, "a record's sources")
    walk.go("/discrepancies")
    walk.go("/discrepancies?source=agar-grove", shows="4 open items")
    walk.go("/la/contact-requests", shows="Sam Okafor")
    walk.go(f"/la/contact-requests/{w['brokering']}")
    walk.open_record(cpid)
    walk.go(f"/children/{cpid}/involvement/{w['sensitive']}/consent-withdrawn")
    walk.go(f"/children/{cpid}/change/name")
    walk.submit("Save the change", {"middle_names": "Rose"}, "with errors")
    walk.submit("Save the change", {"reason": "Her mother told us her middle name."}, "changed")
    walk.submit("Withdraw the change", {}, "withdrawn")
    walk.go(f"/children/{cpid}/change/date_of_birth")
    walk.go(f"/children/{cpid}/change/gender")
    walk.go(f"/children/{cpid}/change/address")
    for field in ("uln", "carers", "education", "gp"):
        walk.go(f"/children/{cpid}/change/{field}")
    walk.go("/record-changes")
    walk.go(f"/record-changes/{w['proposal']}", shows="943 476 5870")
    # A child no source knows, created by hand: the form with its errors, a new record, then the same child again
    # (a possible match: sent for a decision).
    walk.go("/records/new")
    walk.submit("Create the record", {"postcode": "QQ1 2345"}, "with errors")
    zara = {"given_name": "Zara", "family_name": "Okonkwo", "date_of_birth-day": "11", "date_of_birth-month": "4",
            "date_of_birth-year": "2019", "gender": "female", "address_line_1": "3 Camden Square",
            "postcode": "NW1 9XA"}
    walk.go("/records/new", check=False)
    walk.submit("Create the record", zara, "created: the record asks why")
    walk.go("/records/new", check=False)
    walk.submit("Create the record", zara, "a possible match, sent for a decision")
    assert "/records/new/sent" in walk.page.url
    walk.go("/lifecycle")
    for child in (w["unshielded"], w["shielded"]):
        walk.go(f"/lifecycle/children/{child}")
    walk.go(f"/lifecycle/children/{w['unshielded']}/shield")
    walk.submit("Send for approval", {}, "with errors")
    walk.go(f"/lifecycle/children/{w['shielded']}/unshield")
    walk.go(f"/lifecycle/children/{w['shielded']}/hidden")
    walk.submit("Show the hidden details", {"reason": "Health visitor asks to reach the GP"}, "shown")
    walk.go(f"/lifecycle/children/{w['young']}/consent")
    walk.go(f"/lifecycle/children/{w['young']}/consent/withdraw")
    for what in ("death", "left-england", "returned", "new-identity"):
        walk.go(f"/lifecycle/children/{w['unshielded']}/{what}")
    walk.go(f"/lifecycle/decisions/{w['decision']}", shows="Fled domestic violence")
    walk.go("/lifecycle/moves", shows="Dina Marsh")
    walk.go(f"/lifecycle/moves/{w['move']}", shows="Islington")
    walk.submit("Record decision", {}, "with errors")
    walk.go("/lifecycle/missing-education", shows="Evan Marsh")
    walk.go("/lifecycle/archive", shows="Gus")
    walk.go(f"/lifecycle/archive/{w['adult']}")
    walk.go("/lifecycle/sealed")
    walk.go(f"/lifecycle/sealed/{w['opening']}")
    walk.go(f"/lifecycle/children/{w['unshielded']}/new-identity")
    walk.submit("Record", {"kind": "adoption", "given": "Iris", "family": "Okafor"}, "done")

    # --- an organisation administrator -------------------------------------------------------------------------
    walk.as_(make_person("ada.admin", role="org-admin", full_name="Ada Mensah"))
    walk.go("/home", shows="gp-kentish", check=False)  # the home page, with the sources' last feeds
    sam = people["sam"].user.pk
    walk.go("/admin/users")
    walk.go("/admin/users/new")
    walk.submit("Add the user", {}, "with errors")
    walk.go(f"/admin/users/{sam}", shows="Sam Okafor")
    for what in ("revoke", "suspend", "clearance", "training", "policy", "token", "token/reset", "credentials"):
        walk.go(f"/admin/users/{sam}/{what}")
    from contactpoint.access.models import Organisation

    walk.go("/admin/organisations")
    walk.go("/admin/organisations/new")
    walk.go(f"/admin/organisations/{Organisation.objects.get(code='SCH-100002').pk}/suspend")
    walk.go("/admin/sources")
    walk.go("/admin/sources/new")
    walk.go(f"/admin/sources/{w['source']}/keys/new")
    # The pages that answer a POST, shown once: a source's new key, a token's QR code, a new password and PIN.
    walk.submit("Issue the key", {}, "the key, shown once")
    walk.go(f"/admin/users/{sam}/token")
    walk.submit("Show the QR code", {}, "the QR code")
    walk.submit("Confirm the token", {}, "with errors")
    walk.go(f"/admin/users/{sam}/credentials")
    walk.submit("Reset password and PIN", {}, "the new password and PIN, shown once")

    # --- auditors ----------------------------------------------------------------------------------------------
    walk.as_(make_person("la.auditor", role="auditor", full_name="Lee Auditor"))
    walk.go("/home", shows="New alerts", check=False)  # the home page, with an alert
    walk.go("/audit", shows="Overrode shielding")
    walk.go(f"/audit/alerts/{w['alert']}", shows="olu.police")
    walk.go("/audit/reports")
    walk.go(f"/audit/reports/child?cpid={w['shielded']}")
    walk.go("/audit/reports/user?username=sam.social")
    walk.as_(make_person("nat.auditor", role="national-auditor", org="CP-NATIONAL", full_name="Nat Auditor"))
    walk.go("/audit")

    # --- the operator ------------------------------------------------------------------------------------------
    walk.as_(make_person("ope.rator", role="operator", org="CP-NATIONAL", full_name="Opal Rator"))
    walk.go("/home", shows="Sources that have not sent", check=False)
    walk.go("/ops/status")

    routes = page_routes()
    missed = sorted(set(routes) - walk.seen - set(EXCLUDED))
    assert missed == [], f"pages no one visited: {[routes[n] for n in missed]}"
    assert set(EXCLUDED) <= set(routes), "an exclusion names no page"
    assert {"404"} <= walk.seen
    assert walk.failures == [], "\n\n".join(walk.failures)

