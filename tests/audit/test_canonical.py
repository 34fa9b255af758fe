"""The fast canonical JSON used for the audit chain gives the same bytes as the RFC 8785 encoder, and the walk's
faster reading of stored entries the same hashes."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import rfc8785
from hypothesis import given
from hypothesis import strategies as st

from contactpoint.audit.chain import (
    StoredEntry,
    canonical_json,
    entry_body,
    entry_hash,
    fast_hash,
    format_at,
    stored_entry_hash,
)

_scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1),
                     st.text())
_values = st.recursive(_scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                         st.dictionaries(st.text(), inner, max_size=4)),
                       max_leaves=20)


@given(_values)
def test_canonical_json_is_rfc_8785(value):
    try:
        expected = rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, UnicodeEncodeError, ValueError) as exc:
        # What RFC 8785 cannot encode (lone surrogates) must not hash either.
        try:
            canonical_json(value)
        except (rfc8785.CanonicalizationError, UnicodeEncodeError, ValueError):
            return
        raise AssertionError(f"encoded what RFC 8785 refuses: {exc}") from None
    assert canonical_json(value) == expected


def test_control_characters_and_unicode_are_escaped_as_rfc_8785_says():
    value = {"b": "tab\there\u0001 \u2028 é 😀 \"q\" \\", "a": [1, True, None]}
    assert canonical_json(value) == rfc8785.dumps(value)


_texts = st.text()
_times = st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC))


@given(seq=st.integers(min_value=1, max_value=2**53 - 1), at=_times, texts=st.lists(_texts, min_size=10, max_size=10),
       subjects=st.lists(_texts, max_size=4), context=st.dictionaries(_texts, _values, max_size=4),
       request=st.one_of(st.just(""), _texts), stored_right=st.booleans())
def test_an_entry_read_as_stored_hashes_as_its_body_does(seq, at, texts, subjects, context, request, stored_right):
    """The walk's fast reading of an entry (the database's text for the time and the JSON, hashed through
    orjson) gives the hash ``record_event`` linked, whatever the entry holds; and when the stored hash is not
    that (an altered entry), the answer is still the true hash, never a different mistake."""
    action, outcome, severity, actor, org, role, reason, target, detail, key = texts
    prev = "ab" * 32
    try:
        expected = entry_hash(entry_body(seq=seq, at=at, action=action, outcome=outcome, severity=severity,
                                         actor=actor, actor_org=org, actor_role=role, reason=reason,
                                         target_user=target, subjects=subjects, context=context, detail=detail,
                                         detail_key=key, prev_hash=prev, request_id=request))
    except (rfc8785.CanonicalizationError, UnicodeEncodeError, ValueError):
        return  # lone surrogates: neither the database nor record_event takes them
    # PostgreSQL's jsonb text: ", " and ": " separators, keys in its own order.
    stored = StoredEntry(seq, format_at(at), action, outcome, severity, actor, org, role, reason, target,
                         json.dumps(subjects), json.dumps(dict(reversed(context.items()))), detail, key, request, prev,
                         expected if stored_right else "0" * 64)
    assert stored_entry_hash(stored) == expected
    # and the fast way itself is right wherever it answers (what is plain: all an entry holds in practice)
    assert fast_hash(stored) in (expected, None)
    if all(t.isprintable() for t in (*texts, *subjects, request)) and not context:
        assert fast_hash(stored) == expected
