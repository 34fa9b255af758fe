from __future__ import annotations

from datetime import date

import nhs_number
import pytest
import uk_postcodes_parsing
from hypothesis import given
from hypothesis import strategies as st

from contactpoint.children.identifiers import (
    check_not_future,
    new_contactpoint_id,
    normalise_contactpoint_id,
    normalise_nhs_number,
    normalise_postcode,
    normalise_uln,
    normalise_upn,
    uln_check_digit,
    upn_check_letter,
)
from contactpoint.errors import ValidationError

nine_digits = st.text(alphabet="0123456789", min_size=9, max_size=9).filter(lambda s: s[0] != "0")
# NHS numbers issued in England and Wales begin 4, 6 or 7 (numbers in Scotland's CHI range must also start
# with a real date, which the nhs-number package checks).
england_nhs_first9 = st.builds(lambda a, b: a + b, st.sampled_from("467"),
                               st.text(alphabet="0123456789", min_size=8, max_size=8))


def _valid_nhs(first9: str) -> str | None:
    check = nhs_number.calculate_checksum(first9)
    return None if check is None or check == 10 else first9 + str(check)


@given(england_nhs_first9)
def test_any_nhs_number_with_a_right_check_digit_is_accepted_in_any_spacing(first9):
    number = _valid_nhs(first9)
    if number is None or len(set(number)) == 1:  # a placeholder (below)
        return
    spaced = f"{number[:3]} {number[3:6]} {number[6:]}"
    assert normalise_nhs_number(spaced) == number


@given(england_nhs_first9, st.integers(0, 9), st.integers(1, 9))
def test_a_single_mistyped_digit_in_an_nhs_number_is_refused(first9, position, delta):
    number = _valid_nhs(first9)
    if number is None:
        return
    wrong = number[:position] + str((int(number[position]) + delta) % 10) + number[position + 1:]
    with pytest.raises(ValidationError) as refused:
        normalise_nhs_number(wrong)
    assert refused.value.field == "nhs_number"
    assert wrong not in str(refused.value)  # the value never reaches an error message


@given(st.sampled_from("0123456789"), st.sampled_from(["", " ", "-"]))
def test_a_placeholder_nhs_number_every_digit_the_same_is_refused_though_its_check_digit_passes(digit, gap):
    """0000000000 and 9999999999 pass modulus 11 (every repeated digit does): systems write them for a number they
    do not know, and as an identifier one would make all their children one child."""
    number = digit * 10
    assert _valid_nhs(number[:9]) == number
    with pytest.raises(ValidationError, match="placeholder"):
        normalise_nhs_number(gap.join([number[:3], number[3:6], number[6:]]))


def test_an_nhs_number_below_every_issued_range_is_refused():
    with pytest.raises(ValidationError, match="below every range"):
        normalise_nhs_number("0012345679")  # its check digit is right


@given(england_nhs_first9)
def test_an_nhs_number_or_uln_from_a_spreadsheets_number_column_is_read_with_its_decimal_point(first9):
    """A number column written out by a spreadsheet, or by pandas beside an empty cell, ends ``.0``."""
    number = _valid_nhs(first9)
    if number is not None and len(set(number)) > 1:
        assert normalise_nhs_number(number + ".0") == number
    if (check := uln_check_digit(first9)) is not None and first9[0] != "0":
        assert normalise_uln(f"{first9}{check}.0") == f"{first9}{check}"


@pytest.mark.parametrize("written", ["9.43E+09", "9.434766E+9", "4.07813E+09"])
def test_an_nhs_number_or_uln_in_scientific_notation_is_refused_saying_its_digits_are_lost(written):
    for normalise in (normalise_nhs_number, normalise_uln):
        with pytest.raises(ValidationError, match="scientific notation.*format the column as text") as refused:
            normalise(written)
        assert written not in str(refused.value)


def test_nhs_number_of_wrong_length_says_what_is_expected():
    with pytest.raises(ValidationError, match="10 digits"):
        normalise_nhs_number("12345")


@pytest.mark.parametrize("la", ["202", "838", "839", "940", "941", "942", "943", "909"])
def test_upns_from_every_la_code_including_new_and_replaced_councils_are_accepted(la):
    body = f"{la}1234" + "25" + "001"
    upn = upn_check_letter(body) + body
    assert normalise_upn(upn.lower()) == upn


@given(st.sampled_from(["202", "330", "941"]), st.text("0123456789", min_size=9, max_size=9))
def test_upn_with_the_wrong_check_letter_is_refused(la, rest):
    body = la + rest
    right = upn_check_letter(body)
    wrong = "A" if right != "A" else "B"
    with pytest.raises(ValidationError, match="check letter"):
        normalise_upn(wrong + body)


def test_upn_from_a_code_that_is_no_la_is_refused():
    body = "999" + "1234" + "25" + "001"
    with pytest.raises(ValidationError, match="LA code"):
        normalise_upn(upn_check_letter(body) + body)


@given(nine_digits)
def test_uln_round_trips_and_any_single_digit_change_is_refused(first9):
    check = uln_check_digit(first9)
    if check is None:
        return
    uln = first9 + str(check)
    assert normalise_uln(uln) == uln
    for position in range(10):
        for digit in "0123456789":
            if digit == uln[position] or (position == 0 and digit == "0"):
                continue
            changed = uln[:position] + digit + uln[position + 1:]
            with pytest.raises(ValidationError):
                normalise_uln(changed)


def test_temporary_uln_is_refused_with_what_to_do():
    with pytest.raises(ValidationError, match="leave it empty"):
        normalise_uln("9999999999")


@pytest.mark.parametrize("raw,expected", [("sw1a1aa", "SW1A 1AA"), (" NW1  8NP ", "NW1 8NP"),
                                          ("m11ae", "M1 1AE")])
def test_postcodes_are_normalised(raw, expected):
    assert normalise_postcode(raw) == expected


@pytest.mark.parametrize("raw", ["", "not a postcode", "SW1A", "12345"])
def test_a_string_that_is_not_a_postcode_is_refused(raw):
    with pytest.raises(ValidationError, match="not a UK postcode"):
        normalise_postcode(raw)


@given(st.one_of(st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 -\t", max_size=10),
                 st.from_regex(r"\A\s?[A-Za-z]{1,2}[0-9][A-Za-z0-9]? ?[0-9][A-Za-z]{2}\s?\Z")))
def test_a_postcode_is_read_as_the_postcode_library_parses_it(raw):
    """The validator uses the library's normaliser (eight times cheaper than its ``parse``): it must accept and
    write every postcode exactly as ``parse`` does, and refuse what ``parse`` cannot read."""
    parsed = uk_postcodes_parsing.parse(raw.strip(), attempt_fix=False) if raw.strip() else None
    if parsed is None:
        with pytest.raises(ValidationError, match="not a UK postcode"):
            normalise_postcode(raw)
    elif parsed.postcode.startswith("ZZ99 "):
        with pytest.raises(ValidationError, match="pseudo-postcode"):
            normalise_postcode(raw)
    else:
        assert normalise_postcode(raw) == parsed.postcode


@pytest.mark.parametrize("raw", ["ZZ99 3VZ", "zz993wz", "ZZ99 3CZ"])
def test_an_nhs_pseudo_postcode_is_refused_wherever_a_postcode_comes_in(raw):
    """A feed, a local authority's amendment and a search all read postcodes here: none may hold "no fixed
    abode" as a place every such child would share."""
    with pytest.raises(ValidationError, match="pseudo-postcode"):
        normalise_postcode(raw)


def test_contactpoint_ids_are_issued_with_a_valid_check_character():
    for _ in range(200):
        cpid = new_contactpoint_id()
        assert normalise_contactpoint_id(f"{cpid[:4]} {cpid[4:8]} {cpid[8:]}") == cpid


@given(st.integers(0, 11), st.sampled_from("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
def test_a_mistyped_contactpoint_id_is_refused(position, char):
    cpid = "48271936052" + "K"
    from stdnum.iso7064 import mod_37_36

    cpid = cpid[:-1] + mod_37_36.calc_check_digit(cpid[:-1])
    changed = cpid[:position] + char + cpid[position + 1:]
    if changed == cpid:
        return
    with pytest.raises(ValidationError):
        normalise_contactpoint_id(changed)


def test_a_date_in_the_future_is_refused():
    with pytest.raises(ValidationError, match="future"):
        check_not_future(date(2030, 1, 1), date(2026, 11, 24), "date_of_birth")
    assert check_not_future(date(2026, 11, 24), date(2026, 11, 24), "date_of_birth")
