"""On PostgreSQL the database links audit entries into the chain (migration 0004) and Python verifies them:
the two hashings must give the same bytes for anything ``record_event`` accepts."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contactpoint import correlation
from contactpoint.audit.actions import AuditAction, Outcome, Severity
from contactpoint.audit.chain import body_of_row, canonical_json, entry_hash
from contactpoint.audit.checkpoints import verify_trail
from contactpoint.audit.models import AuditEntry
from contactpoint.audit.trail import Actor, record_event
from contactpoint.errors import AuditError

pytestmark = pytest.mark.django_db

# What PostgreSQL text can hold: no NUL, no lone surrogates.
_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12)
_keys = st.text(st.characters(max_codepoint=127, blacklist_characters="\x00"), max_size=6)
_scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1), _text)
_context = st.recursive(_scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                          st.dictionaries(_keys, inner, max_size=3)),
                        max_leaves=12)
_function_scoped = settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None,
                            max_examples=60)


@pytest.mark.postgres
@_function_scoped
@given(value=_context)
def test_the_database_writes_canonical_json_as_python_does(value):
    with connection.cursor() as cursor:
        cursor.execute("SELECT audit_canonical(%s::jsonb)", [json.dumps(value)])
        assert cursor.fetchone()[0].encode() == canonical_json(value)


@pytest.mark.postgres
@_function_scoped
@given(context=st.dictionaries(_keys, _context, max_size=4), subjects=st.lists(_text, max_size=3),
       actor=_text, reason=_text, request=st.one_of(st.just(""), _text),
       at=st.datetimes(min_value=datetime(1000, 1, 1), max_value=datetime(9999, 12, 31), timezones=st.just(UTC)))
def test_an_entry_linked_by_the_database_hashes_as_python_verifies_it(keyring, context, subjects, actor, reason,
                                                                      request, at):
    # Entries land in the month's partition or, outside the months made, the default one: hashed alike.
    with correlation.scope(request):
        entry = record_event(AuditAction.SEARCH, actor=Actor(actor, "LA-202", "role"), keyring=keyring,
                             reason=reason, subjects=subjects, context=context,
                             detail={"criteria": {"family": actor}}, at=at, outcome=Outcome.REFUSED,
                             severity=Severity.ALERT)
    row = AuditEntry.objects.get(seq=entry.seq)
    assert row.hash == entry.hash == entry_hash(body_of_row(row))


@pytest.mark.postgres
def test_the_chain_the_database_links_verifies_in_python(keyring):
    for i in range(5):
        record_event(AuditAction.RECORD_VIEWED, actor=Actor("alice"), keyring=keyring, subjects=[f"1000000000{i}"],
                     context={"i": i, "nested": {"b": [1, "two", None], "a": True}})
    verdict = verify_trail(keyring)
    assert verdict.intact and verdict.entries == 5


@pytest.mark.parametrize("context", [{"clé": 1}, {"n": 2**53}, {"t": "a\x00b"}, {"f": 1.5}])
def test_context_the_two_hashings_might_not_agree_on_is_refused_everywhere(keyring, context):
    with pytest.raises(AuditError):
        record_event(AuditAction.SEARCH, actor=Actor("alice"), keyring=keyring, context=context)
    assert not AuditEntry.objects.exists()
