"""Validation of feed rows: every rule refuses a value with a reason that names the field and never the value.

An ``InvalidValue`` means the row was taken without that value (flagged back to the source); a ``FieldRefusal``
means the row was taken without that (non-Schedule 1) field; a ``Refusal`` means the row was not taken: it had
nothing left to match a child on, was not about a child, or had no usable ``source_record_id``.
"""

from __future__ import annotations

import string
from datetime import date, timedelta

import nhs_number
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contactpoint.children.identifiers import uln_check_digit, upn_check_letter
from contactpoint.children.record import (
    Address,
    Carer,
    EducationSetting,
    Gender,
    GPPractice,
    Involvement,
    PersonName,
    SensitiveCategory,
    WhereaboutsState,
)
from contactpoint.feeds import NOT_SCHEDULE_1, WHOLE_ROW, FeedRow, FieldRefusal, RawRow, Refusal, validate
from contactpoint.feeds.formats import COLUMNS
from contactpoint.feeds.rows import InvalidValue, Problem
from contactpoint.feeds.validate import NOTHING_TO_MATCH, PLACEHOLDER_BIRTH, TOO_OLD
from contactpoint.reference import la_codes

TODAY = date(2026, 11, 24)

VALID = dict.fromkeys(COLUMNS, "") | {
    "source_record_id": "SC202-1448274", "given_name": "Noah", "middle_names": "James", "family_name": "Da Silva",
    "former_family_names": "Smith", "gender": "male", "date_of_birth": "2018-08-26", "nhs_number": "4078132014",
    "upn": "E202200022001", "uln": "8586185697", "address_line_1": "Flat 4", "address_line_2": "124 Richards Grove",
    "town": "London", "postcode": "NW6 7DX", "whereabouts": "current",
    "carer_1_name": "Eleanor Bailey", "carer_1_relationship": "mother", "carer_1_parental_responsibility": "yes",
    "carer_1_phone": "07700 900885", "carer_2_name": "Leonard Holland", "carer_2_relationship": "Stepfather",
    "carer_2_parental_responsibility": "no",
    "setting_urn": "331197", "setting_name": "Long Primary Academy", "setting_start_date": "2022-09-01",
    "gp_practice_code": "F41415", "gp_practice_name": "Khan Surgery", "gp_start_date": "2018-10-16",
    "service_name": "Family support", "practitioner_name": "Joyce Smith", "practitioner_phone": "020 7946 0824",
    "involvement_start_date": "2023-01-12", "involvement_end_date": "", "lead_professional": "no",
    "caf_completed": "yes", "sensitive_service": "no", "updated_at": "2026-10-12",
}


def check(**changes: str) -> tuple[FeedRow | None, list[Problem]]:
    return validate(RawRow(7, VALID | changes), today=TODAY)


def refusals(**changes: str) -> list[Refusal | InvalidValue]:
    """What validation refused of the row: values the row was taken without (it still has a name and
    identifiers to match on) or, for a row with nothing left to match on, the row itself. Asserts that a taken
    row is taken only without what was refused, and that no reason repeats a value it refused."""
    row, found = check(**changes)
    refused = [r for r in found if isinstance(r, Refusal | InvalidValue)]
    assert refused
    assert (row is None) == all(isinstance(r, Refusal) for r in refused)
    for refusal in refused:
        assert refusal.line == 7
        for value in changes.values():
            if len(value.strip()) >= 3:
                assert value.strip() not in refusal.reason
    return refused


def refused_fields(**changes: str) -> list[str]:
    return [r.field for r in refusals(**changes)]


def accepted(**changes: str) -> FeedRow:
    row, found = check(**changes)
    assert found == []
    assert row is not None
    return row


# --- a good row ------------------------------------------------------------------------------------------


def test_a_valid_row_is_taken_with_every_schedule_1_item_checked_and_normalised():
    row = accepted(nhs_number="407 813 2014", upn="e202200022001", postcode="nw67dx", gp_practice_code="f41415")
    assert row == FeedRow(
        line=7, source_record_id="SC202-1448274", name=PersonName(given="Noah", family="Da Silva", middle="James"),
        former_family_names=("Smith",), gender=Gender.MALE, date_of_birth=date(2018, 8, 26), date_of_death=None,
        nhs_number="4078132014", upn="E202200022001", uln="8586185697",
        address=Address("Flat 4", "124 Richards Grove", "London", "NW6 7DX"), whereabouts=WhereaboutsState.CURRENT,
        carers=(Carer("Eleanor Bailey", "mother", True, "07700 900885"),
                Carer("Leonard Holland", "stepfather", False, "")),
        education=EducationSetting("331197", "Long Primary Academy", date(2022, 9, 1)),
        gp=GPPractice("F41415", "Khan Surgery", date(2018, 10, 16)),
        involvement=Involvement(key="", service="Family support", practitioner_name="Joyce Smith",
                                practitioner_phone="020 7946 0824", start_date=date(2023, 1, 12),
                                lead_professional=False, caf_completed=True, sensitive=None),
        updated_at=date(2026, 10, 12))


def test_a_row_with_only_the_required_items_is_taken_with_everything_else_unknown():
    minimal = dict.fromkeys(COLUMNS, "") | {"source_record_id": "A1", "given_name": "Noah", "family_name": "Smith",
                                            "date_of_birth": "2018-08-26"}
    row, found = validate(RawRow(2, minimal), today=TODAY)
    assert found == []
    assert row == FeedRow(line=2, source_record_id="A1", name=PersonName("Noah", "Smith"),
                          date_of_birth=date(2018, 8, 26))


def test_values_are_trimmed_of_surrounding_spaces():
    row = accepted(given_name="  Noah ", source_record_id=" A1 ", date_of_birth=" 2018-08-26 ")
    assert (row.name.given, row.source_record_id, row.date_of_birth) == ("Noah", "A1", date(2018, 8, 26))


def test_a_row_that_could_not_be_read_is_refused_whole_with_its_problem():
    row, found = validate(RawRow(4, {}, problem="the line is not JSON"), today=TODAY)
    assert row is None
    assert found == [Refusal(4, WHOLE_ROW, "the line is not JSON")]


# --- source_record_id ------------------------------------------------------------------------------------


def test_a_row_without_a_source_record_id_is_refused():
    [refusal] = refusals(source_record_id="")
    assert refusal.field == "source_record_id" and refusal.reason.startswith("required")


def test_a_source_record_id_longer_than_64_characters_is_refused():
    assert refused_fields(source_record_id="A" * 65) == ["source_record_id"]
    assert accepted(source_record_id="A" * 64).source_record_id == "A" * 64


def test_a_source_record_id_with_a_control_character_is_refused():
    assert refused_fields(source_record_id="A1\x00B") == ["source_record_id"]


# --- names -----------------------------------------------------------------------------------------------


def test_a_row_without_a_given_name_or_family_name_is_refused_naming_each():
    assert refused_fields(given_name="", family_name=" ") == ["given_name", "family_name"]


def test_a_name_longer_than_100_characters_is_refused():
    [refusal] = refusals(family_name="Smith" * 21)
    assert (refusal.field, refusal.reason) == ("family_name", "longer than 100 characters")


@pytest.mark.parametrize("bad", ["No\tah", "No\nah", "No\x00ah", "No\u200bah", "No\u2028ah", "No\x1bah"])
def test_a_name_with_a_control_or_invisible_character_is_refused(bad):
    [refusal] = refusals(given_name=bad)
    assert (refusal.field, refusal.reason) == ("given_name", "contains a control or invisible character")


@pytest.mark.parametrize("bad", ["12345", "007", "-+-", "?!"])
def test_a_digits_only_name_is_refused(bad):
    [refusal] = refusals(middle_names=bad)
    assert refusal.field == "middle_names" and "at least one letter" in refusal.reason


def test_names_keep_accents_apostrophes_and_hyphens_and_their_spaces_are_tidied():
    row = accepted(given_name="Zoë\u00a0 Anne", family_name="O'Neil-Smith", middle_names="  Jean   Luc ")
    assert row.name == PersonName(given="Zoë Anne", family="O'Neil-Smith", middle="Jean Luc")


def test_former_family_names_are_split_on_semicolons_and_each_is_checked():
    assert accepted(former_family_names="Smith; Jones ;;").former_family_names == ("Smith", "Jones")
    assert refused_fields(former_family_names="Smith;123") == ["former_family_names"]


# --- dates -----------------------------------------------------------------------------------------------


def test_a_row_without_a_date_of_birth_is_refused():
    assert refused_fields(date_of_birth="") == ["date_of_birth"]


# How real exports write a date: a spreadsheet day first, HL7 and the PDS compact, a database with its time.
WRITTEN = ["%Y-%m-%d", "%d/%m/%Y", "%-d/%-m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%Y%m%d", "%Y/%m/%d", "%Y-%-m-%-d",
           "%d %B %Y", "%-d %b %Y", "%d-%b-%Y", "%d-%b-%Y", "%B %-d, %Y", "%b %d %Y", "%Y-%m-%dT00:00:00",
           "%Y-%m-%dT00:00:00.000Z", "%Y-%m-%d 00:00:00", "%d/%m/%Y 00:00", "%d/%m/%Y 12:00:00 AM"]


@settings(max_examples=300)
@given(born=st.dates(min_value=date(2001, 1, 1), max_value=TODAY), form=st.sampled_from(WRITTEN),
       case=st.sampled_from([str, str.upper, str.lower]))
def test_a_date_of_birth_written_as_exports_write_it_is_taken(born, form, case):
    row, problems = check(date_of_birth=case(born.strftime(form)))
    assert [p for p in problems if p.field == "date_of_birth"] == [] and row.date_of_birth == born


@given(born=st.dates(min_value=date(2001, 1, 1), max_value=TODAY))
def test_a_date_in_a_spreadsheet_cell_formatted_as_a_number_is_read_as_the_day_it_counts(born):
    """Excel writes a date cell formatted as a number as its day count from 1899-12-30 (43338 is 2018-08-26)."""
    serial = (born - date(1899, 12, 30)).days
    row, problems = check(date_of_birth=str(serial))
    assert [p for p in problems if p.field == "date_of_birth"] == [] and row.date_of_birth == born
    assert check(date_of_birth="43338")[0].date_of_birth == date(2018, 8, 26)


def test_a_spreadsheet_feed_written_day_first_keeps_every_childs_date_of_birth():
    """03/07/2014 is the third of July, as the UK writes it; every other date of the row is read the same way."""
    row, problems = check(date_of_birth="03/07/2014", setting_start_date="01/09/2019", gp_start_date="16/10/2014",
                          involvement_start_date="12/01/2023", updated_at="12/10/2026 09:14")
    assert problems == []
    assert row.date_of_birth == date(2014, 7, 3)
    assert row.education.start_date == date(2019, 9, 1) and row.gp.start_date == date(2014, 10, 16)
    assert row.involvement.start_date == date(2023, 1, 12) and row.updated_at == date(2026, 10, 12)


@pytest.mark.parametrize(("bad", "reason"), [
    ("2018-W34-7", "dates are written YYYY-MM-DD"),
    ("26 Augu 2018", "dates are written YYYY-MM-DD"),
    ("2018-08", "dates are written YYYY-MM-DD"),
    ("the 26th", "dates are written YYYY-MM-DD"),
    ("43338.5", "dates are written YYYY-MM-DD"),  # a spreadsheet's day number with a time of day
    ("32873", "dates are written YYYY-MM-DD"),  # a spreadsheet's day before 1990: no child's date
    ("073050", "dates are written YYYY-MM-DD"),
    ("\u0662\u0660\u0661\u0668-08-26", "dates are written YYYY-MM-DD"),  # digits of another script
    ("26/08/18", "the year has two digits, which could be either century: write it in full (YYYY-MM-DD)"),
    ("26-Aug-18", "the year has two digits, which could be either century: write it in full (YYYY-MM-DD)"),
    ("08/26/2018", "not a real date read day first (DD/MM/YYYY, as dates are written in the UK)"),
    ("31/04/2018", "not a real date read day first (DD/MM/YYYY, as dates are written in the UK)"),
    ("2018/02/30", "not a real date (no such day in that month)"),
    ("30 February 2018", "not a real date (no such day in that month)"),
])
def test_a_date_that_cannot_be_read_is_refused_with_why(bad, reason):
    [refusal] = refusals(date_of_birth=bad)
    assert (refusal.field, refusal.reason) == ("date_of_birth", reason)


@pytest.mark.parametrize("bad", ["2023-02-30", "2021-13-05", "2017-04-31", "2024-00-12", "2019-02-29"])
def test_an_impossible_date_is_refused(bad):
    [refusal] = refusals(date_of_birth=bad)
    assert refusal.field == "date_of_birth" and "not a real date" in refusal.reason


def test_a_date_of_birth_in_the_future_is_refused():
    [refusal] = refusals(date_of_birth=(TODAY + timedelta(days=1)).isoformat())
    assert (refusal.field, refusal.reason) == ("date_of_birth", "the date is in the future")
    assert accepted(date_of_birth=TODAY.isoformat(), setting_start_date="", gp_start_date="",
                    involvement_start_date="").date_of_birth == TODAY


def test_a_date_of_birth_more_than_26_years_ago_is_refused_and_exactly_26_years_is_taken():
    [refusal] = refusals(date_of_birth="2000-11-23")
    assert refusal.field == "date_of_birth" and "more than 26 years ago" in refusal.reason
    assert accepted(date_of_birth="2000-11-24").date_of_birth == date(2000, 11, 24)


def test_a_date_of_death_before_birth_is_refused():
    [refusal] = refusals(date_of_death="2018-08-25")
    assert (refusal.field, refusal.reason) == ("date_of_death", "the date is before the child's date of birth")
    assert accepted(date_of_death="2026-01-02").date_of_death == date(2026, 1, 2)


def test_a_date_of_death_in_the_future_is_refused():
    assert refused_fields(date_of_death="2026-11-25") == ["date_of_death"]


@pytest.mark.parametrize("column", ["setting_start_date", "gp_start_date", "involvement_start_date"])
def test_setting_gp_and_involvement_start_dates_in_the_future_are_refused(column):
    [refusal] = refusals(**{column: "2027-01-01"})
    assert (refusal.field, refusal.reason) == (column, "the date is in the future")


@pytest.mark.parametrize("column", ["setting_start_date", "gp_start_date", "involvement_start_date",
                                    "involvement_end_date"])
def test_setting_gp_and_involvement_dates_before_birth_are_refused(column):
    [refusal] = refusals(**{column: "2018-08-25"})
    assert (refusal.field, refusal.reason) == (column, "the date is before the child's date of birth")


def test_a_planned_involvement_end_date_in_the_future_is_taken():
    assert accepted(involvement_end_date="2027-03-31").involvement.end_date == date(2027, 3, 31)


def test_an_involvement_ending_before_it_starts_is_refused():
    [refusal] = refusals(involvement_end_date="2023-01-11")
    assert (refusal.field, refusal.reason) == ("involvement_end_date", "the end date is before the start date")


def test_an_updated_at_in_the_future_is_refused():
    assert refused_fields(updated_at="2026-11-25") == ["updated_at"]


# --- gender ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("sent", "gender"), [
    ("male", Gender.MALE), ("Male", Gender.MALE), ("M", Gender.MALE), ("m", Gender.MALE),
    ("female", Gender.FEMALE), ("FEMALE", Gender.FEMALE), ("F", Gender.FEMALE),
    ("not specified", Gender.NOT_SPECIFIED), ("Not Specified", Gender.NOT_SPECIFIED), ("U", Gender.NOT_SPECIFIED),
    ("unknown", Gender.NOT_SPECIFIED), ("UNKNOWN", Gender.NOT_SPECIFIED),
    # NHS Data Dictionary codes, as health systems export them
    ("1", Gender.MALE), ("2", Gender.FEMALE), ("9", Gender.NOT_SPECIFIED), ("0", Gender.NOT_SPECIFIED),
    ("X", Gender.NOT_SPECIFIED), ("Not Known", Gender.NOT_SPECIFIED), ("Indeterminate", Gender.NOT_SPECIFIED),
    ("I", Gender.NOT_SPECIFIED),
])
def test_gender_accepts_words_and_letters_in_any_case_and_normalises_them(sent, gender):
    assert accepted(gender=sent).gender is gender


@pytest.mark.parametrize("bad", ["boy", "girl", "3", "other", "mf"])
def test_any_other_gender_is_refused(bad):
    [refusal] = refusals(gender=bad)
    assert (refusal.field, refusal.reason) == ("gender", "gender is male, female or not specified")


def test_an_empty_gender_is_unknown_not_refused():
    assert accepted(gender="").gender is None


# --- identifiers and postcode ----------------------------------------------------------------------------


def test_a_row_with_a_bad_nhs_check_digit_is_refused_naming_the_field_and_never_the_value():
    [refusal] = refusals(nhs_number="4078132015")
    assert refusal.field == "nhs_number" and "check digit" in refusal.reason
    assert "4078132015" not in refusal.reason and "407" not in refusal.reason


def test_a_row_with_a_bad_upn_check_letter_is_refused_naming_the_field_and_never_the_value():
    [refusal] = refusals(upn="A202200022001")
    assert refusal.field == "upn" and "check letter" in refusal.reason


def test_a_upn_with_an_unknown_local_authority_is_refused():
    body = "999200022001"
    assert refused_fields(upn=upn_check_letter(body) + body) == ["upn"]


def test_a_row_with_a_bad_uln_check_digit_is_refused_naming_the_field_and_never_the_value():
    [refusal] = refusals(uln="8586185692")
    assert refusal.field == "uln" and "check digit" in refusal.reason


def test_identifiers_in_non_ascii_digits_are_refused_not_crashed():
    assert refused_fields(nhs_number="４０７８１３２０１４", uln="858618569²", upn="E２０２200022001") == [
        "nhs_number", "upn", "uln"]


def test_an_invalid_postcode_is_refused_and_a_valid_one_is_normalised():
    [refusal] = refusals(postcode="NW6 7D")
    assert (refusal.field, refusal.reason) == ("postcode", "not a UK postcode")
    assert accepted(postcode=" nw67dx ").address.postcode == "NW6 7DX"


def test_an_address_cell_spanning_several_lines_is_read_with_commas():
    row = accepted(address_line_1="Flat 4\r\n124 Richards Grove\n", address_line_2="")
    assert row.address == Address("Flat 4, 124 Richards Grove", "", "London", "NW6 7DX")


def test_an_address_line_longer_than_100_characters_is_refused():
    assert refused_fields(address_line_2="x" * 101) == ["address_line_2"]


# --- whereabouts -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("state", list(WhereaboutsState))
def test_whereabouts_is_one_of_the_four_states(state):
    changes = {"whereabouts": state.value.upper()}
    if state is WhereaboutsState.NO_KNOWN_ADDRESS:
        changes |= dict.fromkeys(("address_line_1", "address_line_2", "town", "postcode"), "")
    assert accepted(**changes).whereabouts is state


def test_an_unknown_whereabouts_is_refused():
    assert refused_fields(whereabouts="homeless") == ["whereabouts"]


def test_no_known_address_with_an_address_is_refused():
    [refusal] = refusals(whereabouts="no_known_address")
    assert refusal.field == "whereabouts" and "no known address, yet an address is given" in refusal.reason


# --- yes/no ----------------------------------------------------------------------------------------------

YES_NO_COLUMNS = ["carer_1_parental_responsibility", "carer_2_parental_responsibility", "lead_professional",
                  "caf_completed", "sensitive_service"]


@pytest.mark.parametrize("column", YES_NO_COLUMNS)
@pytest.mark.parametrize(("sent", "meaning"), [("yes", True), ("YES", True), ("y", True), ("true", True),
                                               ("True", True), ("1", True), ("no", False), ("N", False),
                                               ("false", False), ("0", False)])
def test_yes_no_fields_accept_yes_no_true_false_y_n_1_0(column, sent, meaning):
    row = accepted(**{column: sent})
    values = {
        "carer_1_parental_responsibility": row.carers[0].parental_responsibility,
        "carer_2_parental_responsibility": row.carers[1].parental_responsibility,
        "lead_professional": row.involvement.lead_professional,
        "caf_completed": row.involvement.caf_completed,
        "sensitive_service": row.involvement.sensitive is not None,
    }
    assert values[column] is meaning


@pytest.mark.parametrize("column", YES_NO_COLUMNS)
def test_any_other_yes_no_value_is_refused(column):
    [refusal] = refusals(**{column: "maybe"})
    assert (refusal.field, refusal.reason) == (column, "yes or no")


# --- involvement -----------------------------------------------------------------------------------------


def test_an_involvement_without_a_service_name_is_refused():
    [refusal] = refusals(service_name="")
    assert refusal.field == "service_name"
    assert "practitioner_name" in refusal.reason and "Joyce" not in refusal.reason


@pytest.mark.parametrize("column", ["lead_professional", "caf_completed"])
def test_lead_professional_or_caf_completed_without_a_service_name_is_refused(column):
    empty = dict.fromkeys(("service_name", "practitioner_name", "practitioner_phone", "involvement_start_date",
                           "lead_professional", "caf_completed", "sensitive_service"), "")
    [refusal] = refusals(**empty | {column: "yes"})
    assert refusal.field == "service_name"
    assert refusal.reason == f"an involvement needs the name of the service (filled in without it: {column})"


def test_a_row_without_any_involvement_column_has_no_involvement():
    empty = dict.fromkeys(("service_name", "practitioner_name", "practitioner_phone", "involvement_start_date",
                           "lead_professional", "caf_completed", "sensitive_service"), "")
    assert accepted(**empty).involvement is None


def test_a_sensitive_service_is_marked_unspecified_and_left_to_the_pipeline_to_decide():
    involvement = accepted(sensitive_service="yes").involvement
    assert involvement.sensitive is SensitiveCategory.UNSPECIFIED
    assert involvement.sensitive_basis is None


def test_an_involvement_has_an_empty_key_for_the_pipeline_to_assign():
    assert accepted().involvement.key == ""


def test_a_bad_practitioner_phone_is_refused():
    [refusal] = refusals(practitioner_phone="call reception")
    assert refusal.field == "practitioner_phone" and "phone number" in refusal.reason


# --- carers ----------------------------------------------------------------------------------------------


def test_carer_columns_make_up_to_two_carers_and_no_carer_columns_make_none():
    assert len(accepted().carers) == 2
    none = {f"carer_{n}_{part}": "" for n in (1, 2)
            for part in ("name", "relationship", "parental_responsibility", "phone")}
    assert accepted(**none).carers == ()
    only_second = none | {"carer_2_name": "Clare Holland"}
    assert accepted(**only_second).carers == (Carer("Clare Holland"),)


@pytest.mark.parametrize("column", ["carer_1_relationship", "carer_1_parental_responsibility", "carer_1_phone"])
def test_a_carer_without_a_name_is_refused_when_any_of_its_columns_is_filled(column):
    empty = {f"carer_1_{part}": "" for part in ("name", "relationship", "parental_responsibility", "phone")}
    [refusal] = refusals(**empty | {column: VALID[column]})
    assert refusal.field == "carer_1_name" and "needs a name" in refusal.reason


def test_a_bad_carer_phone_is_refused():
    assert refused_fields(carer_1_phone="12") == ["carer_1_phone"]


# --- setting and GP practice -----------------------------------------------------------------------------


def test_a_setting_needs_its_urn():
    [refusal] = refusals(setting_urn="")
    assert refusal.field == "setting_urn" and refusal.reason.startswith("required")


@pytest.mark.parametrize("bad", ["12345", "12345678", "URN331197", "３３１１９７"])
def test_a_setting_urn_is_6_digits_or_a_7_digit_dfe_number(bad):
    assert refused_fields(setting_urn=bad) == ["setting_urn"]
    assert accepted(setting_urn="2022001").education.urn == "2022001"


def test_a_gp_practice_needs_its_ods_code():
    assert refused_fields(gp_practice_code="") == ["gp_practice_code"]


@pytest.mark.parametrize("bad", ["41415", "FF4141", "F4141", "F414155"])
def test_a_gp_practice_code_is_a_letter_and_five_digits(bad):
    [refusal] = refusals(gp_practice_code=bad)
    assert refusal.field == "gp_practice_code" and "ODS code" in refusal.reason


# --- columns outside Schedule 1 --------------------------------------------------------------------------


def test_a_column_outside_schedule_1_is_refused_on_its_own_and_the_row_is_taken_without_it():
    row, found = validate(RawRow(3, VALID | {"ethnicity": "White British", "Pupil/SENhistory": "(x)"}),
                          today=TODAY)
    assert row is not None
    assert found == [FieldRefusal(3, "ethnicity", NOT_SCHEDULE_1),
                     FieldRefusal(3, "Pupil/SENhistory", NOT_SCHEDULE_1)]
    assert "White British" not in repr(row)


def test_an_empty_unknown_column_is_ignored():
    row, found = validate(RawRow(3, VALID | {"ethnicity": "  ", "notes": ""}), today=TODAY)
    assert row is not None and found == []


def test_columns_outside_schedule_1_are_reported_on_a_refused_row_too():
    nameless = {"given_name": "", "family_name": "", "upn": "", "uln": ""}
    row, found = validate(RawRow(3, VALID | nameless | {"nhs_number": "1", "ethnicity": "x"}), today=TODAY)
    assert row is None
    assert [type(r) for r in found] == [Refusal, Refusal, Refusal, Refusal, FieldRefusal]


# --- one bad value costs that value, never the child -------------------------------------------------------


def test_a_bad_nhs_number_costs_the_identifier_and_the_child_goes_in_on_the_rest():
    row, found = check(nhs_number="4078132015")
    assert found == [InvalidValue(7, "nhs_number", "the NHS number's check digit is wrong (modulus 11)")]
    assert row is not None and row.nhs_number is None
    assert row == accepted(nhs_number="")


def test_a_scottish_chi_number_whose_first_six_digits_are_no_date_is_told_so_not_blamed_on_its_check_digit():
    [flag] = refusals(nhs_number="3013000002")  # in the CHI range, and 30/13 is no date
    assert flag.field == "nhs_number" and "not a date of birth (DDMMYY)" in flag.reason
    assert "check digit" not in flag.reason


@pytest.mark.parametrize("missing", ["date_of_birth", "given_name", "family_name"])
def test_a_row_missing_its_date_of_birth_or_a_name_is_taken_and_the_gap_flagged(missing):
    row, found = check(**{missing: ""})
    assert row is not None
    assert [(f.field, f.reason.split(":")[0]) for f in found] == [(missing, "required")]
    assert all(isinstance(f, InvalidValue) for f in found)


def test_an_impossible_or_future_date_of_birth_costs_the_date_not_the_child():
    for bad in ("2018-02-30", "2027-01-01"):
        row, [flag] = check(date_of_birth=bad)
        assert row is not None and row.date_of_birth is None and isinstance(flag, InvalidValue)


def test_a_row_with_identifiers_but_no_name_and_no_date_of_birth_is_still_taken():
    row, found = check(given_name="", family_name="", date_of_birth="")
    assert row is not None and row.nhs_number == "4078132014"
    assert {f.field for f in found} == {"given_name", "family_name", "date_of_birth"}


def test_only_a_row_with_nothing_to_match_on_is_refused_whole():
    row, found = check(given_name="", family_name="", nhs_number="12", upn="", uln="")
    assert row is None
    assert Refusal(7, WHOLE_ROW, NOTHING_TO_MATCH) in found
    assert all(isinstance(f, Refusal) for f in found)


@pytest.mark.parametrize(("column", "placeholder"), [
    ("given_name", "Baby"), ("given_name", "BABY BOY"), ("given_name", "Baby of Okafor"), ("given_name", "Twin 2"),
    ("given_name", "Unknown"), ("given_name", "NK"), ("given_name", "XXX"), ("family_name", "Not Known"),
    ("family_name", "TBC"),
])
def test_a_placeholder_for_a_name_not_yet_known_costs_the_name_not_the_child(column, placeholder):
    """A newborn is "Baby Boy" in a health system until named: as a given name it would agree with every other
    such baby's."""
    row, found = check(**{column: placeholder})
    assert row is not None and row.nhs_number == VALID["nhs_number"]
    assert (row.name.given if column == "given_name" else row.name.family) == ""
    assert [(p.field, p.reason) for p in found] == [(column, "a placeholder, not a name (Baby, Unknown, Twin 1): "
                                                             "leave it empty until the child's name is known")]


@pytest.mark.parametrize(("lines", "expected"), [
    ({"town": "London NW6 7DX"}, ("Flat 4", "124 Richards Grove", "London")),
    ({"town": "", "address_line_2": "124 Richards Grove, London, nw67dx"},
     ("Flat 4", "124 Richards Grove, London", "")),
    ({"address_line_1": "Flat 4, 124 Richards Grove, London NW6 7DX", "address_line_2": "", "town": ""},
     ("Flat 4, 124 Richards Grove, London", "", "")),
])
def test_a_postcode_written_at_the_end_of_the_address_is_the_postcode(lines, expected):
    """A source that writes the address in one block, postcode and all, leaves the postcode column empty."""
    row, found = check(postcode="", **lines)
    assert found == []
    assert (row.address.line_1, row.address.line_2, row.address.town, row.address.postcode) == (*expected, "NW6 7DX")


def test_an_address_ending_in_no_postcode_has_none():
    row, found = check(postcode="", town="London SW1")  # a district alone is not a postcode
    assert found == [] and row.address.postcode == "" and row.address.town == "London SW1"
    row, found = check(postcode="", town="ZZ99 3VZ")  # nor is a pseudo-postcode
    assert row.address.postcode == "" and row.address.town == "ZZ99 3VZ"


@pytest.mark.parametrize("pseudo", ["ZZ99 3VZ", "zz993wz", "ZZ99 3CZ"])
def test_an_nhs_pseudo_postcode_costs_the_postcode_and_keeps_the_address(pseudo):
    """ZZ99 3VZ is the NHS's "no fixed abode": as a postcode, every such child would live at one place."""
    row, found = check(postcode=pseudo)
    assert row.address is not None and row.address.postcode == "" and row.address.line_2 == VALID["address_line_2"]
    assert [p.field for p in found] == ["postcode"] and "pseudo-postcode" in found[0].reason


@pytest.mark.parametrize("placeholder", ["Unknown", "Mother", "MUM", "Foster Carer", "Not Known", "Parents",
                                         "Grandmother"])
def test_a_carer_sent_as_a_placeholder_or_a_relationship_is_not_a_carer_every_child_shares(placeholder):
    """Matching reads a carer's name in common as one family: every child whose carer is "Mother" would be."""
    row, found = check(carer_1_name=placeholder)
    assert [c.name for c in row.carers] == [VALID["carer_2_name"]]
    assert [(p.field, p.reason) for p in found] == [
        ("carer_1_name", "a placeholder or a relationship, not a name (Unknown, Mother): leave it empty if the "
                         "carer's name is not known")]


@pytest.mark.parametrize("name", ["Babette", "Nkechi", "Xavier", "Twinkle", "Nonie", "Tobias"])
def test_a_name_that_only_begins_like_a_placeholder_is_a_name(name):
    assert accepted(given_name=name).name.given == name


def test_someone_born_more_than_26_years_ago_is_not_a_child_and_refused_whole():
    row, found = check(date_of_birth="1990-01-01")
    assert row is None and found == [Refusal(7, "date_of_birth", TOO_OLD)]


@pytest.mark.parametrize("placeholder", ["1900-01-01", "01/01/1900", "1899-12-31", "0001-01-01", "1753-01-01",
                                         "1901-01-01"])
def test_a_placeholder_for_an_unknown_date_of_birth_costs_the_date_not_the_child(placeholder):
    """A system that must fill the date writes 1900-01-01 when it does not know it: the row is a child whose
    birthday is unknown, matched on the rest, not an adult refused whole."""
    row, found = check(date_of_birth=placeholder)
    assert row is not None and row.date_of_birth is None and row.nhs_number == VALID["nhs_number"]
    assert found == [InvalidValue(7, "date_of_birth", PLACEHOLDER_BIRTH)]


@settings(max_examples=300, deadline=None)
@given(column=st.sampled_from([c for c in COLUMNS if c != "source_record_id"]),
       value=st.text(min_size=1, max_size=30))
def test_one_bad_value_in_any_column_never_costs_the_child(column, value):
    row, found = check(**{column: value})
    if column != "date_of_birth" or row is not None:  # (a date of birth can make the row not about a child)
        assert row is not None
        assert all(not isinstance(f, Refusal) for f in found)


# --- several problems ------------------------------------------------------------------------------------


def test_a_row_with_several_problems_reports_every_one_and_is_not_taken():
    fields = refused_fields(source_record_id="", family_name="123", gender="boy", date_of_birth="2018-02-30",
                            nhs_number="4078132015", postcode="NW6 7D", carer_1_phone="x",
                            gp_practice_code="nope", lead_professional="perhaps")
    assert fields == ["source_record_id", "family_name", "gender", "date_of_birth", "nhs_number", "postcode",
                      "carer_1_phone", "gp_practice_code", "lead_professional"]


# --- properties ------------------------------------------------------------------------------------------

MARK = "Zq"  # never part of a reason, so a reason containing a marked value has repeated it

any_text = st.text(max_size=40)
marked_text = st.text(alphabet=string.ascii_letters + string.digits + " -/.:;'", max_size=20).map(
    lambda s: f"{MARK}{s}{MARK}")
known_or_other_key = st.one_of(st.sampled_from(COLUMNS), st.text(min_size=1, max_size=20))


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(known_or_other_key, any_text, max_size=45))
def test_validate_never_raises_on_arbitrary_dicts_of_strings(fields):
    row, found = validate(RawRow(1, fields), today=TODAY)
    assert (row is None) == any(isinstance(r, Refusal) for r in found)
    assert all(r.reason for r in found)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(COLUMNS), any_text, max_size=10))
def test_validate_never_raises_on_a_good_row_with_arbitrary_values_in_some_columns(changes):
    validate(RawRow(1, VALID | changes), today=TODAY)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(COLUMNS), marked_text, min_size=1, max_size=12))
def test_reasons_never_contain_the_offending_value(changes):
    _, found = validate(RawRow(1, VALID | changes), today=TODAY)
    for refusal in found:
        assert MARK not in refusal.reason
        assert MARK not in refusal.field


EMPTY_AS_EXPORTS_WRITE_IT = ["NULL", "null", "(null)", "<NULL>", "[NULL]", "N/A", "n/a", "#N/A", "None", "-", "--",
                             "?", "."]


@settings(max_examples=300)
@given(columns=st.lists(st.sampled_from(COLUMNS), min_size=1, max_size=8, unique=True),
       marker=st.sampled_from(EMPTY_AS_EXPORTS_WRITE_IT), pad=st.sampled_from(["", " "]))
def test_null_and_its_kin_in_any_column_are_read_as_empty(columns, marker, pad):
    """SQL Server's "Save Results As" writes NULL in every empty cell: read as a value it was a middle name, a
    carer and a town every such record shared, and matching took it for agreement."""
    as_empty = validate(RawRow(1, VALID | dict.fromkeys(columns, "")), today=TODAY)
    as_marked = validate(RawRow(1, VALID | dict.fromkeys(columns, pad + marker + pad)), today=TODAY)
    assert as_marked == as_empty


@pytest.mark.parametrize("name", ["Na", "NA", "Nil", "Nan", "Ng", "O"])
def test_short_names_are_not_mistaken_for_an_empty_cell(name):
    row = accepted(family_name=name, middle_names=name, former_family_names=f"{name};NULL")
    assert row.name.family == name and row.name.middle == name and row.former_family_names == (name,)


@given(st.dates(min_value=date(2000, 11, 24), max_value=TODAY))
def test_dates_of_birth_round_trip(born):
    later_dates = dict.fromkeys(("setting_start_date", "gp_start_date", "involvement_start_date"), "")
    row = validate(RawRow(1, VALID | later_dates | {"date_of_birth": born.isoformat()}), today=TODAY)[0]
    assert row is not None and row.date_of_birth == born


def _nhs(first9: str) -> str | None:
    check = nhs_number.calculate_checksum(first9)
    return None if check is None or check == 10 else first9 + str(check)


def digits(n: int) -> st.SearchStrategy[str]:
    return st.text(alphabet="0123456789", min_size=n, max_size=n)


@given(nhs_first9=st.builds(lambda a, b: a + b, st.sampled_from("467"), digits(8)),
       la=st.sampled_from(sorted(la_codes())), upn_rest=digits(9),
       uln_first9=digits(9).filter(lambda s: s[0] != "0"))
def test_identifiers_generated_valid_are_accepted(nhs_first9, la, upn_rest, uln_first9):
    nhs = _nhs(nhs_first9)
    uln_check = uln_check_digit(uln_first9)
    upn_body = la + upn_rest
    uln = None if uln_check is None else uln_first9 + str(uln_check)
    if nhs is None or uln is None or uln == "9999999999":
        return
    row, found = check(nhs_number=nhs, upn=upn_check_letter(upn_body) + upn_body, uln=uln)
    assert found == []
    assert (row.nhs_number, row.upn, row.uln) == (nhs, upn_check_letter(upn_body) + upn_body, uln)
