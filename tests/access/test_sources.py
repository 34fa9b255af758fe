"""Source systems as machine clients: registered by an administrator, authenticated by a hashed API key with
scopes; rotation keeps the old key for a week; every refusal reads the same."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.utils import timezone

from contactpoint.access.models import Organisation, SourceKey, SourceSystem
from contactpoint.access.roles import SOURCE_SCOPES, Permission
from contactpoint.access.sources import (
    ROTATION_GRACE,
    audit_refused_source,
    authenticate_source,
    issue_key,
    register_source,
    revoke_key,
)
from contactpoint.audit.actions import AuditAction
from contactpoint.audit.models import AuditEntry
from contactpoint.errors import AuthenticationFailed, PermissionDenied, ValidationError
from tests.factories import PASSWORD, PIN, TOTP_KEY, Person, make_person, sign_in, vouched_org

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
REFUSED = "The API key is not valid, has expired or has been revoked."


@pytest.fixture
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def admin(clock):
    return make_person("la.admin", role="org-admin").user


@pytest.fixture
def source(admin, keyring):
    return register_source(admin, code="camden-social-care", name="Camden social care", kind="la_social_care",
                           organisation=admin.organisation, now=timezone.now(), keyring=keyring)


def _other_la() -> Organisation:
    return Organisation.objects.filter(kind="local_authority").exclude(code="LA-202").order_by("code").first()


def _refused(token: str, now: datetime) -> str:
    with pytest.raises(AuthenticationFailed) as refused:
        authenticate_source(token, now=now)
    return refused.value.message


def test_a_registered_source_with_a_key_is_accepted_with_its_scopes(admin, source, keyring):
    issued = issue_key(admin, source, now=T0, keyring=keyring)
    principal = authenticate_source(issued.token, now=T0 + timedelta(minutes=1))
    assert principal.source == source
    assert principal.scopes == SOURCE_SCOPES
    assert principal.has(Permission.FEED_SUBMIT) and not principal.has(Permission.CHILD_SEARCH)
    key = SourceKey.objects.get(pk=issued.key.pk)
    assert key.last_used_at == T0 + timedelta(minutes=1)
    assert issued.token not in {key.secret_hash, key.prefix} and len(key.secret_hash) == 64  # a hash only
    assert AuditEntry.objects.filter(action=AuditAction.SOURCE_REGISTERED, actor="la.admin",
                                     context__source="camden-social-care").exists()
    assert AuditEntry.objects.filter(action=AuditAction.SOURCE_KEY_ISSUED, context__key=key.prefix).exists()


def test_a_key_may_be_narrowed_but_never_given_more_than_a_source_may_do(admin, source, keyring):
    issued = issue_key(admin, source, now=T0, keyring=keyring,
                       scopes=frozenset({Permission.FEED_DISCREPANCIES}))
    principal = authenticate_source(issued.token, now=T0)
    assert principal.scopes == {Permission.FEED_DISCREPANCIES} and not principal.has(Permission.FEED_SUBMIT)
    for scopes in (frozenset(), frozenset({Permission.FEED_SUBMIT, Permission.CHILD_SEARCH})):
        with pytest.raises(ValidationError) as invalid:
            issue_key(admin, source, now=T0, keyring=keyring, scopes=scopes)
        assert invalid.value.field == "scopes"


def test_every_bad_key_is_refused_with_the_same_words(admin, source, keyring):
    issued = issue_key(admin, source, now=T0, keyring=keyring, valid_days=30)
    prefix = issued.key.prefix
    wrong_secret = f"cpk_{prefix}_{'A' * 43}"
    unknown_prefix = f"cpk_{'0' * 12}_{issued.token.split('_', 2)[2]}"
    messages = {
        "wrong secret": _refused(wrong_secret, T0),
        "unknown prefix": _refused(unknown_prefix, T0),
        "not a key": _refused("Bearer something", T0),
        "expired": _refused(issued.token, T0 + timedelta(days=30)),
    }
    revoke_key(admin, issued.key, now=T0 + timedelta(days=1), keyring=keyring)
    messages["revoked"] = _refused(issued.token, T0 + timedelta(days=1, seconds=1))
    assert set(messages.values()) == {REFUSED}, messages
    assert AuditEntry.objects.filter(action=AuditAction.SOURCE_KEY_REVOKED, context__key=prefix).exists()


def test_a_refusal_can_be_audited_without_the_secret(keyring):
    audit_refused_source("cpk_abcdef012345_secret-part", now=T0, keyring=keyring, ip="192.0.2.1")
    entry = AuditEntry.objects.get(action=AuditAction.SOURCE_AUTH_FAILED)
    assert entry.outcome == "refused" and entry.context == {"key": "abcdef012345", "ip": "192.0.2.1"}
    assert "secret-part" not in str(entry.context) + entry.detail


def test_an_inactive_source_is_refused(admin, source, keyring):
    issued = issue_key(admin, source, now=T0, keyring=keyring)
    SourceSystem.objects.filter(pk=source.pk).update(active=False)
    assert _refused(issued.token, T0) == REFUSED


def test_rotation_keeps_the_old_key_for_seven_days_then_refuses_it(admin, source, keyring, clock):
    old = issue_key(admin, source, now=timezone.now(), keyring=keyring)
    clock.shift(timedelta(days=100))
    new = issue_key(admin, source, now=timezone.now(), keyring=keyring)
    assert authenticate_source(new.token, now=timezone.now()).source == source
    clock.shift(ROTATION_GRACE - timedelta(minutes=1))
    assert authenticate_source(old.token, now=timezone.now()).source == source  # still switching over
    clock.shift(timedelta(minutes=1))
    assert _refused(old.token, timezone.now()) == REFUSED
    assert authenticate_source(new.token, now=timezone.now()).source == source
    # Rotating again does not lengthen the old key's life.
    assert SourceKey.objects.get(pk=old.key.pk).expires_at == T0 + timedelta(days=100) + ROTATION_GRACE


def test_a_key_of_a_suspended_organisation_is_refused(admin, keyring, clock):
    from contactpoint.access.administration import suspend_organisation
    school = vouched_org()
    mis = register_source(admin, code="agar-grove-mis", name="Agar Grove MIS", kind="school_census",
                          organisation=school, now=T0, keyring=keyring)
    issued = issue_key(admin, mis, now=T0, keyring=keyring)
    assert authenticate_source(issued.token, now=T0).source == mis
    suspend_organisation(admin, school, reason="Safeguarding concern", now=T0, keyring=keyring)
    with pytest.raises(AuthenticationFailed):
        authenticate_source(issued.token, now=T0)


def test_only_an_administrator_of_the_organisation_manages_its_sources(admin, source, keyring, clock):
    other_la = _other_la()
    outsider = make_person("other.admin", role="org-admin", org=other_la.code).user
    practitioner = make_person("sam.social").user
    for who in (outsider, practitioner):
        with pytest.raises(PermissionDenied):
            issue_key(who, source, now=T0, keyring=keyring)
        with pytest.raises(PermissionDenied):
            register_source(who, code="x-1", name="X", kind="other", organisation=admin.organisation, now=T0,
                            keyring=keyring)
    issued = issue_key(admin, source, now=T0, keyring=keyring)
    with pytest.raises(PermissionDenied):
        revoke_key(outsider, issued.key, now=T0, keyring=keyring)
    assert SourceKey.objects.get(pk=issued.key.pk).revoked_at is None


def test_register_refuses_a_bad_code_or_kind(admin, source, keyring):
    for code, kind, field in (("Not OK!", "other", "code"), ("camden-social-care", "other", "code"),
                              ("fine-code", "carrier-pigeon", "kind")):
        with pytest.raises(ValidationError) as invalid:
            register_source(admin, code=code, name="X", kind=kind, organisation=admin.organisation, now=T0,
                            keyring=keyring)
        assert invalid.value.field == field


# --- through the pages --------------------------------------------------------------------------------------

def test_the_sources_page_shows_a_rotated_key_as_being_replaced(client, admin, source, keyring, clock):
    old = issue_key(admin, source, now=timezone.now(), keyring=keyring)
    sign_in(client, Person(admin, PASSWORD, PIN, TOTP_KEY))
    page = client.get(f"/admin/sources/{source.pk}/keys/new").content.decode()
    assert "Rotate the API key" in page and "keeps working for 7 more days" in page
    issued = client.post(f"/admin/sources/{source.pk}/keys/new", {"scopes": [str(Permission.FEED_SUBMIT)]})
    assert issued.status_code == 200
    listing = client.get("/admin/sources").content.decode()
    assert old.key.prefix in listing and "Being replaced" in listing and "Live" in listing
    new = SourceKey.objects.exclude(pk=old.key.pk).get(source=source)
    assert new.scopes == [str(Permission.FEED_SUBMIT)]


def test_the_sources_of_another_authority_are_not_found(client, admin, keyring, clock):
    other_la = _other_la()
    theirs = register_source(None, code="elsewhere-care", name="Elsewhere care", kind="la_social_care",
                             organisation=other_la, now=T0, keyring=keyring)
    key = issue_key(None, theirs, now=T0, keyring=keyring).key
    sign_in(client, Person(admin, PASSWORD, PIN, TOTP_KEY))
    assert "Elsewhere care" not in client.get("/admin/sources").content.decode()
    assert client.get(f"/admin/sources/{theirs.pk}/keys/new").status_code == 404
    response = client.post(f"/admin/sources/{theirs.pk}/keys/new", {"scopes": ["feed:records:submit"]})
    assert response.status_code == 404
    assert client.post(f"/admin/sources/keys/{key.pk}/revoke").status_code == 404
    other_org_choice = str(other_la.pk)
    response = client.post("/admin/sources/new", {"name": "Sneaky", "code": "sneaky", "kind": "other",
                                                  "organisation": other_org_choice})
    assert response.status_code == 200 and "Choose the organisation" in response.content.decode()
    assert not SourceSystem.objects.filter(code="sneaky").exists()
    key.refresh_from_db()
    assert key.revoked_at is None
