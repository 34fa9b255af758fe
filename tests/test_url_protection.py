"""Every URL is protected: a test walks the whole URL configuration (habit from GOV.UK Notify).

For each view that is not explicitly public it proves that the view refuses
- an anonymous visitor (sent to sign in),
- a signed-in user with each condition of access lapsed in turn (session ended, told which), and
- a signed-in user whose role lacks the view's permission (403, audited).
New URLs are covered automatically; a view that declares neither ``@public`` nor ``@requires`` fails the test.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from contactpoint.access.models import Organisation, PolicyVersion, User
from contactpoint.access.roles import ROLES, Permission
from contactpoint.audit.models import AuditEntry
from tests.api import walk
from tests.factories import make_person, sign_in

pytestmark = pytest.mark.django_db

# Views of installed packages, protected by those packages (and by AccessMiddleware for partial sessions).
THIRD_PARTY = {"django_otp_webauthn.views", "django.views.i18n", "ninja.operation", "ninja.openapi.views"}
SAMPLE_ARGS = {"int": "1", "str": "x", "slug": "x", "path": "x", "cpid": "100000000012"}


def _walk(patterns, prefix: str = "") -> Iterator[tuple[str, object]]:
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from _walk(p.url_patterns, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            yield prefix + str(p.pattern), p.callback


def _concrete(route: str) -> str:
    route = re.sub(r"<(?:(\w+):)?\w+>", lambda m: SAMPLE_ARGS.get(m.group(1) or "str", "x"), route)
    return "/" + route.lstrip("^").rstrip("$")


def _views():
    out = []
    for route, callback in _walk(get_resolver().url_patterns):
        module = getattr(callback, "__module__", "")
        if any(module.startswith(m) for m in THIRD_PARTY) or route.startswith(("api/", "fhir/")):
            continue  # the API and FHIR operations have their own walker (tests/api)
        out.append((_concrete(route), callback))
    return out


VIEWS = _views()
PROTECTED = [(url, cb) for url, cb in VIEWS if not getattr(cb, "public", False)]


def test_every_view_declares_whether_it_is_public_or_what_it_needs():
    undeclared = [url for url, cb in VIEWS
                  if not getattr(cb, "public", False) and not getattr(cb, "required_permission", None)]
    assert undeclared == []
    assert len(PROTECTED) >= 5


@pytest.mark.parametrize("url,callback", PROTECTED, ids=[u for u, _ in PROTECTED])
def test_an_anonymous_visitor_is_sent_to_sign_in(client, url, callback):
    for method in (client.get, client.post):
        response = method(url)
        assert response.status_code == 302 and response["Location"].startswith("/sign-in?next="), url


def _holder_of(permission: Permission) -> str:
    return next(r.code for r in ROLES if permission in r.permissions)


def _lacking(permission: Permission) -> str:
    return next(r.code for r in ROLES if permission not in r.permissions)


def _org_for(role_code: str) -> str:
    from contactpoint.access.roles import OrgKind, role

    kinds = role(role_code).org_kinds
    if OrgKind.LOCAL_AUTHORITY in kinds:
        return "LA-202"
    if OrgKind.NATIONAL_PARTNER in kinds:
        return "NP-NSPCC"
    if OrgKind.OPERATOR in kinds:
        return "CP-NATIONAL"
    from tests.factories import vouched_org

    kind = sorted(kinds)[0]
    return Organisation.objects.filter(kind=kind).values_list("code", flat=True).first() or \
        vouched_org(code=f"ORG-{kind.upper()}", kind=kind).code


LAPSE = {
    "organisation_accredited": lambda u: Organisation.objects.filter(pk=u.organisation_id).update(
        suspended_at=timezone.now()),
    "access_granted": lambda u: User.objects.filter(pk=u.pk).update(revoked_at=timezone.now()),
    "account_active": lambda u: User.objects.filter(pk=u.pk).update(suspended_at=timezone.now(), is_active=False),
    "clearance_current": lambda u: User.objects.filter(pk=u.pk).update(
        clearance_date=timezone.localdate() - timedelta(days=3 * 366)),
    "training_completed": lambda u: User.objects.filter(pk=u.pk).update(training_completed_on=None),
    "policy_signed": lambda u: PolicyVersion.objects.create(version=99, published_at=timezone.now(),
                                                            summary="new"),
    "second_factor_enrolled": lambda u: u.totpdevice_set.all().delete(),
}


@pytest.mark.parametrize("precondition", sorted(LAPSE))
def test_a_user_with_a_lapsed_condition_is_refused_everywhere_and_told_which(client, precondition):
    for n, (url, callback) in enumerate(PROTECTED):
        role_code = _holder_of(callback.required_permission)
        person = make_person(f"u{n}.{precondition[:6]}", role=role_code, org=_org_for(role_code))
        assert sign_in(client, person).status_code == 302
        LAPSE[precondition](person.user)
        response = client.get(url)
        # Every lapse ends the session, a new acceptable-use policy included (signing it is the first thing the
        # next sign-in asks: tests/access/test_signin.py).
        assert response.status_code == 302 and response["Location"] == "/signed-out", url
        page = client.get("/signed-out").content.decode()
        from contactpoint.access.preconditions import LAPSES

        assert LAPSES[precondition].message in page.replace("&#39;", "'"), url
        assert client.get("/home").status_code == 302  # the session really ended
        client.logout()
        PolicyVersion.objects.filter(version=99).delete()
        Organisation.objects.update(suspended_at=None)


# Views every role may use (one's own account pages) have no role to refuse.
RESTRICTED = [(url, cb) for url, cb in PROTECTED if any(cb.required_permission not in r.permissions for r in ROLES)]


def test_every_role_holds_the_own_account_permission_and_nothing_else_is_universal():
    universal = {p for p in Permission if all(p in r.permissions for r in ROLES)}
    assert universal == {Permission.SELF_ACCOUNT}


@pytest.mark.parametrize("url,callback", RESTRICTED, ids=[u for u, _ in RESTRICTED])
def test_a_user_whose_role_lacks_the_permission_gets_403_and_it_is_audited(client, url, callback):
    role_code = _lacking(callback.required_permission)
    person = make_person("lacking.perm", role=role_code, org=_org_for(role_code))
    sign_in(client, person)
    response = client.get(url)
    assert response.status_code == 403, url
    assert AuditEntry.objects.filter(action="auth.access.refused", actor=person.user.username).exists()


def test_public_pages_hold_no_child_data_and_are_few():
    public = sorted(url for url, cb in VIEWS if getattr(cb, "public", False))
    assert public == sorted(["/", "/healthcheck", "/healthcheck/live", "/healthcheck/ready", "/sign-in",
                             "/sign-in/security-key", "/sign-in/complete", "/sign-out", "/signed-out", "/metrics"])


def test_metrics_need_the_operators_bearer_token(client, settings, monkeypatch):
    import dataclasses

    from contactpoint.config import get_settings

    monkeypatch.setattr("contactpoint.config._settings",
                        dataclasses.replace(get_settings(), metrics_token="s3cret-token-for-scrapers"))
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-token-for-scrapers")
    assert response.status_code == 200 and b"contactpoint_audit_entries" in response.content
    assert b"contactpoint_audit_pending 0" in response.content


def test_webauthn_ceremonies_refuse_an_anonymous_visitor(client):
    for url in ("/webauthn/authentication/begin/", "/webauthn/registration/begin/"):
        assert client.post(url).status_code in (400, 401, 403), url


# --- the JSON API and FHIR: every operation, found by walking the two ninja APIs (tests/api/walk.py) ---------

OPERATIONS = walk.operations()
GUARDED = [op for op in OPERATIONS if op.key not in walk.PUBLIC]
API_LAPSES = sorted(set(LAPSE) - {"organisation_accredited"})  # the organisation's is walked for keys too


def test_every_api_and_fhir_address_is_an_operation_the_walker_knows_or_a_harmless_page():
    routes = {walk.re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", "/" + r) for r, _ in _walk(get_resolver().url_patterns)
              if r.startswith(("api/", "fhir/"))}
    known = {op.route for op in OPERATIONS} | walk.PUBLIC_PAGES | walk.NOWHERE
    assert routes == known
    assert {op.key for op in OPERATIONS} == set(walk.CALLS), "say how each operation is called and audited"
    assert [op for op in GUARDED if op.permission is None] == []  # every other operation declares a Permission


@pytest.fixture
def walked():
    from tests.api.clients import make_source
    from tests.factories import make_record
    from tests.search.test_service import add

    [cpid] = add(make_record())
    source, key = make_source()
    return {"cpid": cpid, "source": source.code, "key": key}


def _token_for(client, permission: Permission, name: str):
    from tests.api.clients import bearer, open_token

    role_code = _holder_of(permission)
    person = make_person(name, role=role_code, org=_org_for(role_code))
    return person, bearer(open_token(client, person))


@pytest.mark.parametrize("operation", GUARDED, ids=str)
def test_an_anonymous_caller_gets_401_from_every_operation(client, walked, operation):
    response = walk.call(client, operation, {}, cpid=walked["cpid"], source=walked["source"])
    assert response.status_code == 401 and response["WWW-Authenticate"].startswith("Bearer"), operation
    assert b"Hartley" not in response.content


@pytest.mark.parametrize("operation", [op for op in GUARDED if not op.for_sources], ids=str)
@pytest.mark.parametrize("precondition", API_LAPSES + ["organisation_accredited"])
def test_a_token_whose_holder_lapsed_is_refused_by_every_operation_and_told_which(client, walked, operation,
                                                                                  precondition):
    person, auth = _token_for(client, operation.permission, f"api.{precondition[:8]}")
    LAPSE[precondition](person.user)
    response = walk.call(client, operation, auth, cpid=walked["cpid"], source=walked["source"])
    assert response.status_code == 403, (operation, response.content)
    assert precondition in response.content.decode()  # JSON "precondition", or FHIR details
    assert walk.call(client, operation, auth, cpid=walked["cpid"], source=walked["source"]).status_code in (401, 403)
    Organisation.objects.update(suspended_at=None)
    PolicyVersion.objects.filter(version=99).delete()
    assert walk.call(client, operation, auth, cpid=walked["cpid"], source=walked["source"]).status_code == 401


@pytest.mark.parametrize("operation", [op for op in GUARDED if op.for_sources], ids=str)
def test_a_source_key_of_a_suspended_organisation_is_refused(client, walked, operation):
    from tests.api.clients import bearer

    LAPSE["organisation_accredited"](User(organisation=Organisation.objects.get(code="LA-202")))
    response = walk.call(client, operation, bearer(walked["key"]), cpid=walked["cpid"], source=walked["source"])
    assert response.status_code == 401 and "not accredited" in response.json()["detail"]


@pytest.mark.parametrize("operation", GUARDED, ids=str)
def test_a_caller_without_the_permission_gets_403_and_it_is_audited(client, walked, operation):
    from tests.api.clients import bearer

    if operation.for_sources:  # a practitioner, whatever their role, is refused a source's operations
        person, auth = _token_for(client, Permission.CHILD_SEARCH, "api.lacking")
        actor = person.user.username
    elif operation.permission == Permission.SELF_ACCOUNT:  # every role holds it: only a source key lacks it
        auth, actor = bearer(walked["key"]), f"source:{walked['source']}"
    else:
        role_code = _lacking(operation.permission)
        person = make_person("api.lacking", role=role_code, org=_org_for(role_code))
        from tests.api.clients import open_token

        auth, actor = bearer(open_token(client, person)), person.user.username
    response = walk.call(client, operation, auth, cpid=walked["cpid"], source=walked["source"])
    assert response.status_code == 403, (operation, response.content)
    assert AuditEntry.objects.filter(action="auth.access.refused", actor=actor).exists()
    assert b"Hartley" not in response.content


@pytest.mark.parametrize("operation", OPERATIONS, ids=str)
def test_every_successful_operation_writes_its_audit_entry(client, walked, operation):
    from tests.api.clients import bearer

    person = None
    if operation.for_sources:
        auth = bearer(walked["key"])
    elif operation.permission is None:
        auth, person = {}, make_person("api.public")
    else:
        person, auth = _token_for(client, operation.permission, "api.allowed")
    before = AuditEntry.objects.count()
    expected = walk.CALLS[operation.key].audit
    response = walk.call(client, operation, auth, cpid=walked["cpid"], source=walked["source"], person=person)
    assert 200 <= response.status_code < 300, (operation, response.content)
    written = list(AuditEntry.objects.order_by("seq")[before:])
    if expected is None:
        assert written == [] and b"Hartley" not in response.content
    else:
        assert expected in [e.action for e in written], operation
        if b"Hartley" in response.content:  # child data went out: the entry names the child
            assert any(walked["cpid"] in e.subjects for e in written if e.action == expected), operation
