"""Validation of the identifiers and values in a Schedule 1 record.

Each function takes a raw value and returns it normalised, or raises ``ValidationError`` naming the field
and the reason. The reason never repeats the value: it reaches source systems and logs.
Checksums come from libraries where one exists (``nhs-number``, ``python-stdnum``); the ULN check digit
and our own LA list for UPNs are ours (DESIGN.md section 3, known pitfalls).
"""

from __future__ import annotations

import logging
import re
import secrets
import unicodedata
from datetime import date, datetime

import nhs_number
from stdnum.gb import upn as stdnum_upn
from stdnum.iso7064 import mod_37_36
from uk_postcodes_parsing.postcode_utils import to_normalised

from contactpoint.errors import ValidationError
from contactpoint.reference import la_codes

# The library's ``parse`` logs the postcode it could not parse: personal data. The validator below does not call
# it, but the generator and tests do; refusals are reported by our validator, without the value.
logging.getLogger("uk_postcodes_parsing").setLevel(logging.CRITICAL)

# What a name or an address line may be, wherever it comes from (a feed's row, a local authority's correction).
MAX_NAME = 100
MAX_TEXT = 100
MAX_AGE_YEARS = 26  # children, and care leavers and young people with learning disabilities up to 25


def has_invisible(text: str) -> bool:
    """Control, format, private-use or unassigned characters, and line or paragraph separators: nothing a
    name or an address needs, and the usual carriers of injected text. Ordinary spaces (including no-break
    spaces) are allowed and collapsed."""
    if text.isascii():  # the usual case, and a fast one
        return not text.isprintable()
    return any(unicodedata.category(ch)[0] == "C" or unicodedata.category(ch) in ("Zl", "Zp") for ch in text)


_SCIENTIFIC = re.compile(r"[0-9](?:\.[0-9]+)?[eE]\+?[0-9]+")
_SCIENTIFIC_REASON = ("written as a number in scientific notation, which has lost its digits: format the column as "
                      "text before saving")
_SPACES = re.compile(r"[\s-]+")
_LOWEST_ISSUED = "0101000000"  # the Scottish CHI range's first number; no range lies below it


def _ten_digits_written(raw: str, field: str) -> str:
    """An identifier of ten digits as a source wrote it, without its spaces and hyphens, and without the ``.0`` a
    spreadsheet's number column adds. Refused here if the column wrote it in scientific notation, which has lost
    its digits; otherwise for its caller to check."""
    compact = _SPACES.sub("", raw).removesuffix(".0")
    if _SCIENTIFIC.fullmatch(compact):
        raise ValidationError(field, _SCIENTIFIC_REASON)
    return compact


def normalise_nhs_number(raw: str, field: str = "nhs_number") -> str:
    """An NHS number: ten digits whose last is a modulus 11 check digit. A spreadsheet's number column may write
    it with a decimal point (``9434765919.0``), which is read; in scientific notation (``9.43E+09``) its digits
    are lost, and the reason says so."""
    compact = _ten_digits_written(raw, field)
    if not compact.isdigit() or len(compact) != 10:
        raise ValidationError(field, "an NHS number is 10 digits")
    # Every repeated digit passes modulus 11, and systems that must fill the field write 0000000000 or 9999999999
    # when they do not know the number: taken as an NHS number, it would make every such child one child.
    if compact == compact[0] * 10:
        raise ValidationError(field, "a placeholder, not an NHS number (every digit the same)")
    if compact < _LOWEST_ISSUED:
        raise ValidationError(field, "below every range NHS numbers are issued from (the lowest is 0101000000)")
    if nhs_number.REGION_SCOTLAND.contains_number(compact) and not _ddmmyy(compact[:6]):
        raise ValidationError(field, "in the Scottish CHI range (0101000000 to 3112999999), but its first six "
                                     "digits are not a date of birth (DDMMYY)")
    expected = nhs_number.calculate_checksum(compact[:9])
    if expected == 10:
        raise ValidationError(field, "no NHS number has these first nine digits (their modulus 11 check digit "
                                     "would be 10)")
    if expected != int(compact[9]):
        raise ValidationError(field, "the NHS number's check digit is wrong (modulus 11)")
    return compact


def _ddmmyy(digits: str) -> bool:
    try:
        datetime.strptime(digits, "%d%m%y")
    except ValueError:
        return False
    return True


_UPN_ALPHABET = "ABCDEFGHJKLMNPQRTUVWXYZ0123456789"


def normalise_upn(raw: str, field: str = "upn") -> str:
    """A Unique Pupil Number: check letter, 3-digit LA code, 4-digit establishment, 2-digit year,
    3-digit serial (or, for a temporary UPN, 2 digits and a letter)."""
    compact = _SPACES.sub("", raw).upper()
    if len(compact) != 13:
        raise ValidationError(field, "a UPN is 13 characters")
    if not compact[0].isalpha() or not compact[1:12].isdigit() or compact[12] not in _UPN_ALPHABET:
        raise ValidationError(field, "a UPN is a letter, 11 digits and a final digit or letter")
    if compact[1:4] not in la_codes():
        raise ValidationError(field, "the UPN's local authority code is not a DfE LA code")
    if stdnum_upn.calc_check_digit(compact[1:]) != compact[0]:
        raise ValidationError(field, "the UPN's check letter is wrong")
    return compact


def upn_check_letter(body12: str) -> str:
    """The check letter for the 12 characters after it (used by the generator and tests)."""
    return stdnum_upn.calc_check_digit(body12)


TEMPORARY_ULN = "9999999999"


def uln_check_digit(first9: str) -> int | None:
    """The ULN check digit (Learning Records Service rule): weights 10..2 over the first nine digits;
    the check digit is 10 minus the sum modulo 11. ``None`` when no digit can satisfy it."""
    total = sum(int(d) * w for d, w in zip(first9, range(10, 1, -1), strict=True)) % 11
    check = 10 - total
    return check if 1 <= check <= 9 else None


def normalise_uln(raw: str, field: str = "uln") -> str:
    """A ULN: ten digits, the first not 0, the last a check digit; a number column's ``.0`` is read as the NHS
    number's is (``normalise_nhs_number``)."""
    compact = _ten_digits_written(raw, field)
    if not compact.isdigit() or len(compact) != 10 or compact[0] == "0":
        raise ValidationError(field, "a ULN is 10 digits, not starting with 0")
    if compact == TEMPORARY_ULN:
        raise ValidationError(field, "a temporary ULN is not an identifier; leave it empty")
    if uln_check_digit(compact[:9]) != int(compact[9]):
        raise ValidationError(field, "the ULN's check digit is wrong")
    return compact


_PHONE = re.compile(r"\+?[0-9 ()\-]+")
_GP_PRACTICE = re.compile(r"[A-Z][0-9]{5}")
MAX_ORGANISATION = 200  # a setting's or a practice's name
MAX_RELATIONSHIP = 50


def normalise_phone(value: str, field: str = "phone") -> str:
    digits = sum(ch.isdigit() for ch in value)
    if not value.isascii() or not _PHONE.fullmatch(value) or not 6 <= digits <= 15:
        raise ValidationError(field, "a phone number is 6 to 15 digits, with spaces, brackets, hyphens or a "
                                     "leading +")
    return " ".join(value.split())


def normalise_setting_urn(value: str, field: str = "setting_urn") -> str:
    if not (value.isascii() and value.isdigit() and len(value) in (6, 7)):
        raise ValidationError(field, "a setting is identified by its 6-digit URN (or 7-digit DfE number)")
    return value


def normalise_gp_practice_code(value: str, field: str = "gp_practice_code") -> str:
    code = value.upper()
    if not _GP_PRACTICE.fullmatch(code):
        raise ValidationError(field, "a GP practice is identified by its ODS code: a letter and 5 digits")
    return code


# The NHS writes ZZ99 3VZ for no fixed abode, ZZ99 3WZ for an address not known, and ZZ99 3xZ for a country:
# every such child would share a "postcode" with every other, and matching read it as living at one place. Refused
# wherever a postcode comes in (a feed, an amendment, a search), so none can hold one.
_PSEUDO_POSTCODE_AREA = "ZZ99 "
PSEUDO_POSTCODE = ("an NHS pseudo-postcode (ZZ99: no fixed abode, not known, or a country), not a place: leave the "
                   "postcode empty and say the child's whereabouts")


def normalise_postcode(raw: str, field: str = "postcode") -> str:
    """A UK postcode in its standard form (``SW1A 1AA``). Not silently 'fixed': a mistyped postcode is
    refused back to its source rather than guessed."""
    # The library's own normaliser, not ``parse``: ``parse`` also works out the area, district, sector and unit
    # (a dataclass of eight fields made with ten regular expressions) only for us to keep the postcode, 20 us a
    # postcode against 2.5 us. It mattered at national size: a file holds more distinct postcodes than any
    # cache of answers (96,000 in the 3 million records' GP file, well over a million in England), so most are parsed.
    normalised = to_normalised(raw.strip())
    if normalised is None:
        raise ValidationError(field, "not a UK postcode")
    if normalised.startswith(_PSEUDO_POSTCODE_AREA):
        raise ValidationError(field, PSEUDO_POSTCODE)
    return normalised


def outward_code(postcode: str) -> str:
    return postcode.split(" ", 1)[0]


def check_not_future(value: date, today: date, field: str) -> date:
    if value > today:
        raise ValidationError(field, "the date is in the future")
    return value


def parse_date(raw: str, field: str) -> date:
    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        raise ValidationError(field, "dates are written YYYY-MM-DD") from None


# ContactPoint ID: 11 random digits and an ISO 7064 MOD 37-36 check character, shown in groups of four.
# Random, not sequential, so that an ID says nothing about when or where a child was added.
_CPID_BODY_DIGITS = 11


def new_contactpoint_id() -> str:
    body = str(secrets.randbelow(9 * 10 ** (_CPID_BODY_DIGITS - 1)) + 10 ** (_CPID_BODY_DIGITS - 1))
    return body + mod_37_36.calc_check_digit(body)


def normalise_contactpoint_id(raw: str, field: str = "contactpoint_id") -> str:
    compact = _SPACES.sub("", raw).upper()
    if len(compact) != _CPID_BODY_DIGITS + 1 or not compact[:-1].isdigit():
        raise ValidationError(field, "a ContactPoint ID is 11 digits and a check character")
    if not mod_37_36.is_valid(compact):
        raise ValidationError(field, "the ContactPoint ID's check character is wrong")
    return compact


def format_contactpoint_id(cpid: str) -> str:
    return f"{cpid[:4]} {cpid[4:8]} {cpid[8:]}"
