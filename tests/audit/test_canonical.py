"""The fast canonical JSON used for the audit chain gives the same bytes as the RFC 8785 encoder."""

from __future__ import annotations

import rfc8785
from hypothesis import given
from hypothesis import strategies as st

from contactpoint.audit.chain import canonical_json

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
