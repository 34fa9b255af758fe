"""The blind-index tokens a child is found by, and the tokens a set of criteria looks up.

Record side and query side use the same derivations, so what was written can be found:
- identifiers: NHS number, UPN, ULN, exact;
- family name (current, former and each part of a double-barrelled name) by Metaphone code + date of birth,
  and by its first two letters + date of birth (for wildcards "Sm*");
- given name by the Metaphone code of the name and of every full name it may be short for + date of birth (and
  of the first forename, when the given name holds several: ``names.forenames``);
- date of birth + full postcode.
Day/month-swapped dates of birth and transposed given/family names are tried on the query side only.

A shielded child is indexed for search only by what stays visible (names and date of birth); its identifiers
and postcode are indexed under match-only indexes that search never reads, so a search through hidden fields
behaves exactly as if it were absent while a feed can still find it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date

from contactpoint import bulk
from contactpoint.names import forename_keys, given_keys, name_parts, phonetic
from contactpoint.vault import blindindex as bi
from contactpoint.vault.keyring import IndexKeyRing


def family_variants(family_names: Iterable[str]) -> set[str]:
    out: set[str] = set()
    for raw in family_names:
        out.update(name_parts(raw))
    return out


def record_tokens(
    keyring: IndexKeyRing,
    *,
    given: str,
    family_names: Iterable[str],
    date_of_birth: date,
    postcode: str | None,
    nhs_number: str | None,
    upn: str | None,
    uln: str | None,
    shielded: bool,
    prefixes: bool = True,
    names_at_postcode: bool = True,
    other_postcodes: Iterable[str] = (),
) -> set[int]:
    """A record's tokens. ``other_postcodes`` (a child's source records' postcodes besides the best view's,
    ``ChildRecord.other_postcodes``) go into match-only indexes alone, shielded or not: matching finds the child
    at an address a source still holds, and search, which reads none of them, never does."""
    dob = date_of_birth.isoformat()
    tokens: set[int] = set()
    for family in family_variants(family_names):
        tokens.add(bi.FAMILY_DOB.token(keyring, f"{phonetic(family)}|{dob}"))
        if prefixes:
            tokens.add(bi.FAMILY_PREFIX_DOB.token(keyring, f"{family[:2]}|{dob}"))
    keys = forename_keys(given)
    for key in keys:
        tokens.add(bi.GIVEN_DOB.token(keyring, f"{key}|{dob}"))
    tokens |= names_year_tokens(keyring, keys=keys, family_names=family_names, year=date_of_birth.year)
    if names_at_postcode:
        tokens |= name_postcode_tokens(keyring, keys=keys, family_names=family_names, postcode=postcode)
    for other in other_postcodes:
        if names_at_postcode:
            tokens |= name_postcode_tokens(keyring, keys=keys, family_names=family_names, postcode=other)
        tokens.add(bi.MATCH_DOB_POSTCODE.token(keyring, f"{dob}|{other}"))
    return tokens | _hidden_field_tokens(keyring, dob=dob, postcode=postcode, nhs_number=nhs_number, upn=upn,
                                         uln=uln, shielded=shielded)


def names_year_tokens(keyring: IndexKeyRing, *, keys: Iterable[str], family_names: Iterable[str],
                      year: int) -> set[int]:
    """Match-only: each given-name key with each family-name part's sound and the birth year."""
    families = {phonetic(f) for f in family_variants(family_names)}
    return {bi.MATCH_NAMES_YEAR.token(keyring, f"{key}|{family}|{year}") for key in keys for family in families
            if key and family}


def transposed_names_year_tokens(keyring: IndexKeyRing, *, given: str, family: str, year: int) -> set[int]:
    """Match-only: the names year tokens (index 11) a record with ``given`` and ``family`` would be written under
    if its names were the other way round: what a feed's row with its names transposed ("Rickett Oliver" for
    Oliver Rickett) looks up, so that it finds the child without a postcode, identifier or name sound in common
    (a move as well, or a mistyped NHS number). Read as a given name, the family name's keys; read as a family
    name, the given name's sound. The bucket holds the children so named born that year, and few others."""
    if not (given and family):
        return set()
    return names_year_tokens(keyring, keys=forename_keys(family), family_names=[given], year=year)


def name_postcode_tokens(keyring: IndexKeyRing, *, keys: Iterable[str], family_names: Iterable[str],
                         postcode: str | None) -> set[int]:
    """Match-only: each given-name key, and each family-name part's sound, with the full postcode."""
    if not postcode:
        return set()
    values = {f"g|{key}|{postcode}" for key in keys if key}
    values |= {f"f|{sound}|{postcode}" for f in family_variants(family_names) if (sound := phonetic(f))}
    return {bi.MATCH_NAME_POSTCODE.token(keyring, v) for v in values}


def _hidden_field_tokens(keyring: IndexKeyRing, *, dob: str, postcode: str | None, nhs_number: str | None,
                         upn: str | None, uln: str | None, shielded: bool) -> set[int]:
    """Tokens of the fields shielding hides: in the searchable indexes, or in match-only ones if shielded."""
    tokens: set[int] = set()
    nhs_index, upn_index, postcode_index = (
        (bi.MATCH_NHS_NUMBER, bi.MATCH_UPN, bi.MATCH_DOB_POSTCODE) if shielded
        else (bi.NHS_NUMBER, bi.UPN, bi.DOB_POSTCODE))
    if nhs_number:
        tokens.add(nhs_index.token(keyring, nhs_number))
    if upn:
        tokens.add(upn_index.token(keyring, upn))
    if uln and not shielded:
        tokens.add(bi.ULN.token(keyring, uln))
    if postcode:
        tokens.add(postcode_index.token(keyring, f"{dob}|{postcode}"))
    return tokens


def matching_tokens(keyring: IndexKeyRing, **record) -> set[int]:
    """The tokens a feed record looks up to find candidate children: what search would, plus the match-only
    indexes of shielded children (the name tokens are the same either way: made once), less the family name's
    first two letters. That one serves a search's wildcard ("Sm*"); as a blocking rule it would bring back
    every child born the same day whose surname starts the same (about two a row at a million children,
    twenty-five at eleven million), each decrypted and scored, for links that the given name, the postcode or
    an identifier find anyway. Nor the names at the postcode: they do not depend on the date, so a caller trying
    several dates of birth looks them up once (``name_postcode_tokens``)."""
    hidden = {k: record[k] for k in ("postcode", "nhs_number", "upn", "uln")}
    found = record_tokens(keyring, shielded=False, prefixes=False, names_at_postcode=False, **record)
    return found | _hidden_field_tokens(keyring, dob=record["date_of_birth"].isoformat(), shielded=True, **hidden)


def identifier_tokens(keyring: IndexKeyRing, *, nhs_number: str | None, upn: str | None,
                      uln: str | None) -> set[int]:
    """The tokens of a feed record's identifiers alone, in the searchable and the match-only indexes: what a
    record without a date of birth can still be found by (every other token is keyed by the date of birth)."""
    tokens: set[int] = set()
    for shielded in (False, True):
        tokens |= {t for t in _hidden_field_tokens(keyring, dob="", postcode=None, nhs_number=nhs_number, upn=upn,
                                                   uln=uln, shielded=shielded)}
    return tokens


def family_dob_tokens(keyring: IndexKeyRing, *, family_names: Iterable[str], date_of_birth: date) -> set[int]:
    """Each family-name part's sound with the date of birth (index 3, as ``record_tokens`` writes it): what a
    record sealed for a new identity is recognised by when a row brings back its old name and date of birth
    without an identifier (``lifecycle.notices``). A feed row looks these up among its other tokens."""
    dob = date_of_birth.isoformat()
    return {bi.FAMILY_DOB.token(keyring, f"{phonetic(f)}|{dob}") for f in family_variants(family_names)}


def dob_variants(dob: date, fuzzy: bool) -> list[date]:
    """The date as given and, in a fuzzy search, with day and month swapped (a common slip)."""
    out = [dob]
    if fuzzy and dob.day <= 12 and dob.day != dob.month:
        try:
            out.append(dob.replace(day=dob.month, month=dob.day))
        except ValueError:
            pass
    return out


def query_tokens(keyring: IndexKeyRing, criteria, *, fuzzy: bool) -> dict[int, set[date]]:
    """Every token a child matching these criteria could be indexed under, each with the dates of birth it
    stands for (none for an identifier's). Candidates are the union; the scorer then decides, so this errs
    towards more candidates, never fewer."""
    tokens: dict[int, set[date]] = {}
    if criteria.nhs_number:
        tokens[bi.NHS_NUMBER.token(keyring, criteria.nhs_number)] = set()
    if criteria.upn:
        tokens[bi.UPN.token(keyring, criteria.upn)] = set()
    if criteria.birthdate is None:
        return tokens
    family, given = criteria.family, criteria.given
    for born in dob_variants(criteria.birthdate, fuzzy):
        dob = born.isoformat()
        made: set[int] = set()
        if family is not None:
            if family.wildcard:
                made.add(bi.FAMILY_PREFIX_DOB.token(keyring, f"{family.normalised[:2]}|{dob}"))
            else:
                for part in name_parts(family.raw):
                    made.add(bi.FAMILY_DOB.token(keyring, f"{phonetic(part)}|{dob}"))
                    if fuzzy:  # a typo that changes the sound still keeps (mostly) the first two letters
                        made.add(bi.FAMILY_PREFIX_DOB.token(keyring, f"{part[:2]}|{dob}"))
                if fuzzy:  # given and family names transposed
                    for key in given_keys(family.normalised):
                        made.add(bi.GIVEN_DOB.token(keyring, f"{key}|{dob}"))
        if given is not None and not given.wildcard and fuzzy:
            for key in forename_keys(given.raw):  # "Amelia Rose" finds Amelia, as a feed's row does
                made.add(bi.GIVEN_DOB.token(keyring, f"{key}|{dob}"))
            made.add(bi.FAMILY_DOB.token(keyring, f"{phonetic(given.normalised)}|{dob}"))
        if criteria.postcode:
            made.add(bi.DOB_POSTCODE.token(keyring, f"{dob}|{criteria.postcode}"))
        for token in made:
            tokens.setdefault(token, set()).add(born)
    return tokens


def bucket_members(tokens: Mapping[int, set]) -> dict[int, tuple[set[date], set[int]]]:
    """The children in the buckets of ``tokens``, each with the dates of birth its date-keyed tokens stand for
    and the identifier tokens (NHS number, UPN, ULN) that found it (see ``in_buckets``)."""
    found: dict[int, tuple[set[date], set[int]]] = {}
    for token, child_id in bulk.select_any("SELECT token, child_id FROM vault_index WHERE token {any}", list(tokens)):
        dobs, identifiers = found.setdefault(child_id, (set(), set()))
        if bi.keyed_by_dob(token):
            dobs |= tokens[token]
        else:
            identifiers.add(token)
    return found


def in_buckets(tokens: Mapping[int, set[date]]) -> dict[int, set[date] | None]:
    """The children in the buckets of ``tokens`` (search's or a feed's), each with the dates of birth it must
    have to be there for a reason, or None when an identifier's token found it (any date of birth will do).

    Tokens are truncated, so each bucket also holds children unrelated to the value looked up, more as the index
    grows (about one per token at a million children, ten at eleven million). Every other token is keyed by the
    date of birth, so a child found only through those, born on none of their dates, is such a bucket-mate:
    callers drop it after opening its date of birth alone."""
    return {child_id: None if identifiers else dobs
            for child_id, (dobs, identifiers) in bucket_members(tokens).items()}
