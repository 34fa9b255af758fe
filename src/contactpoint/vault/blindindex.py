"""Blind indexes: searchable tokens that do not reveal the values they stand for.

A token is HMAC-SHA256 over a normalised value, keyed with a key of its own for each index (HKDF from the key
ring's index root), truncated to ``TOKEN_BITS`` bits and packed with the index number into one 64-bit integer.
The same value in two indexes gives unrelated tokens.

Sizing (DESIGN.md section 4, "truncation sized for the national population")
---------------------------------------------------------------------------
With N live children each contributing about one value to an index, and L-bit tokens, a token is shared on
average by N / 2^L unrelated children. We want that number well above 1, so that someone holding the database
cannot say "these two children have the same surname and date of birth" from equal tokens, yet small enough
that a search decrypts only a handful of extra candidates.

    N = 11,000,000 live children (archived records are removed from the indexes)
    L = 20 bits  ->  2^20 = 1,048,576 buckets  ->  about 10.5 unrelated children per token
    chance that a child's token is shared with no other child: e^-10.5, about 0.003 %

A lookup therefore returns its true matches plus about ten false candidates per token, which are decrypted,
scored and discarded (about 0.1 ms each). Below national scale (a single local authority, a demo) tokens are
much rarer and equality is closer to being revealed; the protection is sized for the real population and
``TOKEN_BITS`` must not be raised without re-reading this note. Changing it requires a re-index
(``contactpoint keys reindex``).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from contactpoint.vault.keyring import IndexKeyRing

TOKEN_BITS = 20
_MASK = (1 << TOKEN_BITS) - 1
_INDEX_SHIFT = 32


@dataclass(frozen=True, slots=True)
class BlindIndex:
    name: str
    number: int

    def token(self, keyring: IndexKeyRing, value: str) -> int:
        mac = hmac.digest(keyring.index_key(self.name), value.encode(), "sha256")  # OpenSSL's one-shot HMAC
        return (self.number << _INDEX_SHIFT) | (int.from_bytes(mac[:4], "big") & _MASK)


# The catalogue. Numbers are stored in every token: never renumber, only add.
NHS_NUMBER = BlindIndex("nhs_number", 1)
UPN = BlindIndex("upn", 2)
FAMILY_DOB = BlindIndex("family_phonetic+dob", 3)
FAMILY_PREFIX_DOB = BlindIndex("family_prefix2+dob", 4)
GIVEN_DOB = BlindIndex("given_phonetic+dob", 5)
DOB_POSTCODE = BlindIndex("dob+postcode", 6)
ULN = BlindIndex("uln", 7)
# A shielded child's hidden fields are indexed only for matching feeds (so that a new GP record still finds
# them), under indexes that search never reads: a search through a hidden field cannot find a shielded child.
MATCH_NHS_NUMBER = BlindIndex("match-only:nhs_number", 8)
MATCH_UPN = BlindIndex("match-only:upn", 9)
MATCH_DOB_POSTCODE = BlindIndex("match-only:dob+postcode", 10)
# A feed's record whose date of birth has a typo (one digit, not a day/month swap) and no identifier in common
# shares no other token with its child: the given and family names' sounds with the birth year find it. Match
# only: search has its own rules for what criteria must hold.
MATCH_NAMES_YEAR = BlindIndex("match-only:given_phonetic+family_phonetic+birth_year", 11)
# A record without a usable date of birth (missing, impossible, or mistyped along with a name) is found through
# where the child lives: either name's sound with the full postcode. A postcode holds a few dozen people, so these
# buckets stay small at any population. Match only, like the shielded indexes: a postcode is a hidden field.
MATCH_NAME_POSTCODE = BlindIndex("match-only:name_phonetic+postcode", 12)

CATALOGUE = (NHS_NUMBER, UPN, FAMILY_DOB, FAMILY_PREFIX_DOB, GIVEN_DOB, DOB_POSTCODE, ULN, MATCH_NHS_NUMBER,
             MATCH_UPN, MATCH_DOB_POSTCODE, MATCH_NAMES_YEAR, MATCH_NAME_POSTCODE)
SEARCHABLE = frozenset(i.number for i in CATALOGUE if not i.name.startswith("match-only:"))
# The indexes whose values include the date of birth: a child is in one of their buckets either because the
# value (and so the date of birth) matched, or by chance, because tokens are truncated.
KEYED_BY_DOB = frozenset(i.number for i in (FAMILY_DOB, FAMILY_PREFIX_DOB, GIVEN_DOB, DOB_POSTCODE,
                                            MATCH_DOB_POSTCODE))
# Those whose values include the birth year only: a child is in their buckets for a reason only if born that year.
KEYED_BY_YEAR = frozenset({MATCH_NAMES_YEAR.number})
# Those whose values include the postcode and no date: in their buckets for a reason only if living there.
KEYED_BY_POSTCODE = frozenset({MATCH_NAME_POSTCODE.number})


def index_number(token: int) -> int:
    return token >> _INDEX_SHIFT


def keyed_by_dob(token: int) -> bool:
    return index_number(token) in KEYED_BY_DOB


def keyed_by_year(token: int) -> bool:
    return index_number(token) in KEYED_BY_YEAR


def keyed_by_postcode(token: int) -> bool:
    return index_number(token) in KEYED_BY_POSTCODE


def index_of(token: int) -> BlindIndex:
    number = index_number(token)
    return next(i for i in CATALOGUE if i.number == number)
