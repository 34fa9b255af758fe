"""Feed formats: every format reads what its writer wrote, line numbers point where the source can look, and
files that cannot be read safely are refused whole.

Round trips start from the synthetic generator's CSV feeds (DESIGN.md section 5), converted to each other
format and read back: the raw rows, and the rows validation makes of them, must be the same.
"""

from __future__ import annotations

import io
import json
from collections import defaultdict
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from fhir.resources.R4B.bundle import Bundle
from hypothesis import given
from hypothesis import strategies as st

from contactpoint.errors import FeedRejected
from contactpoint.feeds import formats, validate
from contactpoint.feeds.formats import COLUMNS, RawRow, ctf, fhir
from contactpoint.feeds.formats.raw import COLUMN_ALIASES, NOT_READ, blank_fields
from contactpoint.feeds.rows import FeedRow, FieldRefusal, InvalidValue
from contactpoint.synthetic.generator import generate
from contactpoint.synthetic.mess import MessRates
from contactpoint.synthetic.writer import FEED_COLUMNS

TODAY = date(2026, 11, 24)
BAD_ROWS = 4  # per feed: one broken value each (the generator's --bad-rows)


# --- helpers ---------------------------------------------------------------------------------------------


def read(fmt: str, data: bytes) -> list[RawRow]:
    return list(formats.read(fmt, io.BytesIO(data)))


def written(fmt: str, rows: list[dict[str, str]]) -> bytes:
    stream = io.BytesIO()
    formats.write(fmt, rows, stream)
    return stream.getvalue()


def project(fields: dict[str, str], carried: frozenset[str]) -> dict[str, str]:
    """The row as a format that carries only ``carried`` can say it: every other column unknown."""
    return {column: (value if column in carried else "") for column, value in fields.items()}


def accepted(raw: RawRow) -> FeedRow | None:
    row, _ = validate(raw, today=TODAY)
    return None if row is None else replace(row, line=0)


def row(**values: str) -> dict[str, str]:
    return blank_fields() | values


@pytest.fixture(scope="module")
def feeds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[RawRow]]:
    """The generator's feeds for 300 children, read as CSV: source -> raw rows. Only the deliberately broken
    rows carry a bad value: these tests are about the formats, not about the values a validator catches."""
    out = tmp_path_factory.mktemp("generated")
    generate(300, 7, out, ["202"], today=TODAY, rates=MessRates().without_bad_values(), bad_rows=BAD_ROWS)
    feeds = {}
    for path in sorted(out.glob("*.csv")):
        if path.name != "truth.csv":
            with path.open("rb") as stream:
                feeds[path.stem] = list(formats.read("csv", stream))
    return feeds


def school_census(feeds: dict[str, list[RawRow]]) -> list[RawRow]:
    return next(rows for source, rows in feeds.items() if source.startswith("school-census-"))


# --- the vocabulary --------------------------------------------------------------------------------------


def test_the_raw_row_columns_are_design_section_5s_and_the_generators():
    assert COLUMNS == FEED_COLUMNS
    assert len(set(COLUMNS)) == len(COLUMNS) == 39


def test_every_generated_csv_row_is_read_with_every_documented_column_and_nothing_else(feeds):
    assert set(feeds) >= {"gp-registrations", "child-benefit", "school-census-202", "la-social-care-202"}
    for rows in feeds.values():
        assert rows
        for raw in rows:
            assert raw.problem is None
            assert list(raw.fields) == list(COLUMNS)


def test_every_generated_row_is_taken_and_only_the_deliberately_broken_ones_lose_a_value(feeds):
    for rows in feeds.values():
        assert [raw for raw in rows if accepted(raw) is None] == []
        flagged = [raw for raw in rows if any(isinstance(p, InvalidValue)
                                              for p in validate(raw, today=TODAY)[1])]
        assert flagged == rows[-BAD_ROWS:]  # the bad rows are appended at the end of each feed
        assert all(len(validate(raw, today=TODAY)[1]) == 1 for raw in flagged)  # one broken value each


# --- round trips -----------------------------------------------------------------------------------------


def test_a_csv_feed_written_again_as_csv_reads_back_row_for_row(feeds):
    for rows in feeds.values():
        assert read("csv", written("csv", [r.fields for r in rows])) == rows


def test_a_feed_converted_to_json_lines_reads_back_as_the_same_raw_rows(feeds):
    for rows in feeds.values():
        back = read("jsonl", written("jsonl", [r.fields for r in rows]))
        assert [b.fields for b in back] == [r.fields for r in rows]
        assert [b.line for b in back] == list(range(1, len(rows) + 1))  # one line per row, no header


def test_a_feed_converted_to_a_fhir_bundle_reads_back_as_the_same_raw_rows_for_what_fhir_carries(feeds):
    for rows in feeds.values():
        sent = [project(r.fields, fhir.CARRIED) for r in rows]
        back = read("fhir", written("fhir", sent))
        assert [b.fields for b in back] == sent
        assert all(b.problem is None for b in back)


def test_the_fhir_writers_bundle_is_a_valid_r4b_bundle(feeds):
    for rows in feeds.values():
        valid = [project(r.fields, fhir.CARRIED) for r in rows if not validate(r, today=TODAY)[1]]  # nothing flagged
        bundle = Bundle.model_validate(json.loads(written("fhir", valid)))
        patients = [e.resource for e in bundle.entry if e.resource.__resource_type__ == "Patient"]
        assert len(patients) == len(valid)


def test_a_school_census_converted_to_one_ctf_per_school_reads_back_as_the_same_raw_rows(feeds):
    by_school: dict[str, list[dict[str, str]]] = defaultdict(list)
    for raw in school_census(feeds):
        by_school[raw.fields["setting_urn"]].append(project(raw.fields, ctf.CARRIED))
    assert len(by_school) > 1
    for sent in by_school.values():
        back = read("ctf", written("ctf", sent))
        assert [b.fields for b in back] == sent
        assert [b.line for b in back] == list(range(1, len(sent) + 1))


def test_validation_makes_the_same_feed_rows_whichever_format_carried_them(feeds):
    for source, rows in feeds.items():
        conversions = {"jsonl": COLUMNS, "fhir": fhir.CARRIED}
        if source.startswith("school-census-"):
            conversions["ctf"] = ctf.CARRIED
        for fmt, carried in conversions.items():
            groups: dict[str, list[RawRow]] = defaultdict(list)
            for raw in rows:  # a CTF holds one school's pupils
                groups[raw.fields["setting_urn"] if fmt == "ctf" else ""].append(raw)
            for group in groups.values():
                sent = [RawRow(r.line, project(r.fields, frozenset(carried))) for r in group]
                back = read(fmt, written(fmt, [s.fields for s in sent]))
                assert [accepted(b) for b in back] == [accepted(s) for s in sent], (source, fmt)


# --- CSV -------------------------------------------------------------------------------------------------


def csv_bytes(*lines: str, ending: str = "\n") -> bytes:
    return ending.join(lines).encode("utf-8") + ending.encode()


HEADER = ",".join(COLUMNS)


def csv_line(**values: str) -> str:
    fields = row(**values)
    return ",".join(f'"{fields[c]}"' if any(ch in fields[c] for ch in ',"\n') else fields[c] for c in COLUMNS)


def test_a_csv_with_a_bom_crlf_endings_and_a_quoted_multi_line_address_keeps_physical_line_numbers():
    data = ("\ufeff" + HEADER + "\r\n"
            + csv_line(source_record_id="A1", given_name="Ann") + "\r\n"
            + csv_line(source_record_id="A2", address_line_1="Flat 4\r\n124 Richards Grove\r\nCamden") + "\r\n"
            + "\r\n"
            + csv_line(source_record_id="A3") + "\r\n").encode("utf-8")
    rows = read("csv", data)
    assert [(r.line, r.fields["source_record_id"]) for r in rows] == [(2, "A1"), (3, "A2"), (7, "A3")]
    assert rows[1].fields["address_line_1"] == "Flat 4\r\n124 Richards Grove\r\nCamden"
    assert next(iter(rows[0].fields)) == "source_record_id"  # the BOM is not part of the first column's name


def test_an_empty_csv_file_is_refused_whole():
    with pytest.raises(FeedRejected, match="empty"):
        read("csv", b"")


def test_a_csv_whose_first_line_is_blank_is_refused_whole():
    with pytest.raises(FeedRejected, match="header"):
        read("csv", csv_bytes("", HEADER))


def test_a_csv_without_a_source_record_id_column_is_refused_whole_without_quoting_its_header():
    with pytest.raises(FeedRejected, match="source_record_id") as refused:
        read("csv", csv_bytes("Zoe,Smith,2015-01-01", "Amy,Jones,2016-02-02"))
    assert "Zoe" not in str(refused.value)


def test_a_csv_saved_by_excel_on_windows_is_read_and_each_row_not_in_utf8_is_flagged():
    """Excel's "CSV (Comma delimited)" writes Windows-1252: one Zoë or Siân used to refuse every row in the file.
    UTF-8 lines of the same file (rows pasted in from elsewhere) still read as UTF-8."""
    data = csv_bytes("source_record_id,given_name,family_name,date_of_birth", "A1,Amelia,Okafor,2014-07-03") + \
        "A2,Zoë,O’Brien,2015-01-02\nA3,\"Siân\nMai\",Jones,2016-02-03\n".encode("cp1252") + \
        "A4,Chloë,Evans,2017-03-04\n".encode()
    rows = read("csv", data)
    assert [(r.line, r.fields["given_name"], r.fields["family_name"], r.read_as) for r in rows] == [
        (2, "Amelia", "Okafor", None), (3, "Zoë", "O’Brien", "Windows-1252"),
        (4, "Siân\nMai", "Jones", "Windows-1252"), (6, "Chloë", "Evans", None)]
    child, problems = validate(rows[1], today=TODAY)
    assert child is not None and child.name.given == "Zoë" and child.date_of_birth == date(2015, 1, 2)
    assert [(p.line, p.field, type(p)) for p in problems] == [(3, "encoding", InvalidValue)]
    assert "Windows-1252" in problems[0].reason and "Zo" not in problems[0].reason


def test_a_byte_windows_1252_leaves_undefined_costs_only_the_value_that_holds_it():
    [raw] = read("csv", csv_bytes("source_record_id,given_name,family_name,date_of_birth") +
                 b"A1,Amelia,Oka\x81for,2014-07-03\n")
    child, problems = validate(raw, today=TODAY)
    assert child is not None and child.name.given == "Amelia" and not child.name.family
    assert {p.field for p in problems} == {"family_name", "encoding"}


@pytest.mark.parametrize("delimiter", ["\t", ";"])
def test_a_csv_delimited_by_tabs_or_semicolons_is_read_by_its_header(delimiter):
    data = csv_bytes(delimiter.join(["source_record_id", "given_name", "address_line_1"]),
                     delimiter.join(["A1", "Amelia", '"1, Agar Grove"']))
    [raw] = read("csv", data)
    assert (raw.fields["given_name"], raw.fields["address_line_1"]) == ("Amelia", "1, Agar Grove")


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_a_utf16_file_is_refused_whole_saying_how_to_save_it(fmt):
    data = "source_record_id\tgiven_name\nA1\tAmelia\n".encode("utf-16")
    with pytest.raises(FeedRejected, match="UTF-16.*CSV UTF-8"):
        read(fmt, data)


def test_a_csv_that_is_not_csv_at_all_is_refused_whole():
    with pytest.raises(FeedRejected):
        read("csv", bytes(range(256)) * 4)
    with pytest.raises(FeedRejected, match="source_record_id"):
        read("csv", b'{"source": "not a table"}\n')


def test_a_csv_naming_a_column_twice_is_refused_whole():
    with pytest.raises(FeedRejected, match="twice: given_name"):
        read("csv", csv_bytes("source_record_id,given_name,given_name", "A1,Ann,Bea"))


def test_a_csv_with_a_misplaced_quote_is_refused_whole_naming_the_line():
    with pytest.raises(FeedRejected, match="from line 3"):
        read("csv", csv_bytes("source_record_id,given_name", "A1,Ann", 'A2,"Bea"x'))


def test_a_csv_row_with_the_wrong_number_of_cells_is_a_row_problem_not_a_crash():
    rows = read("csv", csv_bytes("source_record_id,given_name", "A1,Ann,extra", "A2", "A3,Cat"))
    assert [(r.line, r.problem is not None) for r in rows] == [(2, True), (3, True), (4, False)]
    assert "3 cells but the header has 2" in rows[0].problem
    assert "Ann" not in rows[0].problem and rows[0].fields == {}


def test_unknown_csv_columns_become_extra_keys_and_missing_documented_columns_are_unknown():
    [raw] = read("csv", csv_bytes("source_record_id,ethnicity,,given_name", "A1,White British,x,Ann"))
    assert raw.fields["ethnicity"] == "White British"
    assert raw.fields["(unnamed column 3)"] == "x"
    assert raw.fields["given_name"] == "Ann" and raw.fields["family_name"] == ""
    assert set(raw.fields) == set(COLUMNS) | {"ethnicity", "(unnamed column 3)"}


def test_a_header_exported_from_a_spreadsheet_is_read_as_the_columns_it_names():
    """A supplier's export writes "Date of Birth" and "Surname": every row would otherwise have lost its names and
    date of birth, and been held or refused."""
    [raw] = read("csv", csv_bytes("Source Record ID,Forename,Surname,DOB,Sex,NHS No,Address Line 1,Post Code,"
                                  "Ethnicity", "A1,Ann,Okafor,03/07/2014,F,943 476 5919,12 Agar Grove,NW1 8NP,x"))
    assert {c: raw.fields[c] for c in ("source_record_id", "given_name", "family_name", "date_of_birth", "gender",
                                       "nhs_number", "address_line_1", "postcode")} == {
        "source_record_id": "A1", "given_name": "Ann", "family_name": "Okafor", "date_of_birth": "03/07/2014",
        "gender": "F", "nhs_number": "943 476 5919", "address_line_1": "12 Agar Grove", "postcode": "NW1 8NP"}
    assert raw.fields["Ethnicity"] == "x"  # not a Schedule 1 item, whatever its header: refused as before
    child, problems = validate(raw, today=TODAY)
    assert child.date_of_birth == date(2014, 7, 3) and [p.field for p in problems] == ["Ethnicity"]


def test_a_school_management_systems_headers_are_read_as_the_columns_they_name():
    [raw] = read("csv", csv_bytes("UPN,Legal Surname,Legal Forename,Middle Name(s),Date of Birth,Source Record ID",
                                  "A202123425001,Okafor,Amelia,Rose,03/07/2014,1"))
    assert (raw.fields["family_name"], raw.fields["given_name"], raw.fields["middle_names"]) == \
        ("Okafor", "Amelia", "Rose")


@given(column=st.sampled_from(COLUMNS), case=st.sampled_from([str.upper, str.lower, str.title, str]),
       separator=st.sampled_from([" ", "-", "_", "  "]))
def test_a_column_named_in_another_case_or_spacing_is_that_column(column, case, separator):
    header = "source_record_id," + case(column.replace("_", separator)) if column != "source_record_id" else \
        case(column.replace("_", separator))
    value = "A1,x" if column != "source_record_id" else "A1"
    [raw] = read("csv", csv_bytes(header, value))
    assert raw.fields[column] == value.split(",")[-1] and set(raw.fields) == set(COLUMNS)


def test_a_column_named_exactly_wins_over_another_name_for_it():
    [raw] = read("csv", csv_bytes("source_record_id,given_name,Forename,family_name,date_of_birth",
                                  "A1,Ann,Annie,Okafor,2014-07-03"))
    assert raw.fields["given_name"] == "Ann" and raw.fields["Forename"] == "Annie"
    child, problems = validate(raw, today=TODAY)
    assert child.name.given == "Ann"
    assert [(p.field, p.reason) for p in problems] == [
        ("Forename", "not read, as another name for given_name, which the row fills with another value: send "
                     "given_name once, under that name")]


def test_of_two_other_names_for_one_column_the_first_is_read_and_the_second_refused_on_each_row():
    """"DOB" and "Date of Birth" both: the file used to be refused whole, and every child in it with it."""
    [raw] = read("csv", csv_bytes("source_record_id,given_name,Surname,DOB,Date of Birth", "A1,Ann,Ng,03/07/2014,"))
    child, problems = validate(raw, today=TODAY)
    assert child.date_of_birth == date(2014, 7, 3) and problems == []  # the second is empty: nothing refused
    [raw] = read("csv", csv_bytes("source_record_id,given_name,Surname,DOB,Date of Birth",
                                  "A1,Ann,Ng,03/07/2014,3/7/14"))
    child, problems = validate(raw, today=TODAY)
    assert child.date_of_birth == date(2014, 7, 3)
    assert [(p.field, type(p)) for p in problems] == [("Date of Birth", FieldRefusal)]
    assert "another name for date_of_birth" in problems[0].reason


def test_another_name_for_a_column_is_read_where_the_row_leaves_the_column_empty():
    """A spreadsheet with "DOB" and "Date of Birth" both, filled on different rows: the second used to be refused
    on every row that filled it, and those children came in without a date of birth (held, not matched)."""
    header = "source_record_id,given_name,Surname,DOB,Date of Birth"
    for values in ("A1,Ann,Ng,,03/07/2014", "A1,Ann,Ng,NULL,03/07/2014"):
        [raw] = read("csv", csv_bytes(header, values))
        child, problems = validate(raw, today=TODAY)
        assert child.date_of_birth == date(2014, 7, 3) and problems == []
    [raw] = read("csv", csv_bytes(header, "A1,Ann,Ng,03/07/2014,03/07/2014"))
    child, problems = validate(raw, today=TODAY)
    assert child.date_of_birth == date(2014, 7, 3) and problems == []  # the same value twice: nothing lost


def test_a_json_lines_key_that_is_another_name_for_a_column_is_read_as_it():
    [raw] = read("jsonl", b'{"source_record_id": "A1", "Forename": "Ann", "Surname": "Ng", "DOB": "2014-07-03", '
                          b'"NHS No": "9434765919"}\n')
    child, problems = validate(raw, today=TODAY)
    assert (child.name.given, child.name.family, child.date_of_birth, child.nhs_number) == (
        "Ann", "Ng", date(2014, 7, 3), "9434765919")
    assert problems == []


# A valid value of each column another name may stand for.
VALID_VALUES = {"given_name": "Annie", "middle_names": "Rose", "family_name": "Okafor", "former_family_names": "Smith",
                "gender": "female", "date_of_birth": "2013-05-01", "date_of_death": "2020-01-02",
                "nhs_number": "9434765919", "address_line_1": "22 Fellows Road", "address_line_2": "Hampstead",
                "town": "London", "postcode": "NW3 3LP"}


@given(st.sampled_from(sorted(COLUMN_ALIASES)), st.sampled_from((str.lower, str.upper, str.title)))
def test_a_row_with_a_column_under_another_name_reads_as_the_row_with_the_column(alias, case):
    """Whatever the format: the row validates exactly as it would with the value under the documented name."""
    column = COLUMN_ALIASES[alias]
    value = VALID_VALUES[column]
    base = {"source_record_id": "A1", "given_name": "Ann", "family_name": "Ng", "date_of_birth": "2014-07-03"}
    documented = RawRow(2, base | {column: value})
    other = RawRow(2, {k: v for k, v in base.items() if k != column} | {case(alias.replace("_", " ")): value})
    assert validate(other, today=TODAY) == validate(documented, today=TODAY)


def test_a_column_named_exactly_twice_still_refuses_the_feed():
    with pytest.raises(FeedRejected, match="twice: date_of_birth"):
        read("csv", csv_bytes("source_record_id,date_of_birth,date_of_birth", "A1,2014-07-03,2014-07-03"))


def test_a_csv_with_only_a_header_has_no_rows():
    assert read("csv", csv_bytes(HEADER)) == []


def test_the_csv_writer_puts_extra_keys_after_the_documented_columns():
    data = written("csv", [row(source_record_id="A1") | {"ethnicity": "x"}])
    assert data.decode().splitlines()[0] == HEADER + ",ethnicity"


# --- JSON Lines ------------------------------------------------------------------------------------------


def test_json_lines_are_numbered_by_physical_line_and_blank_lines_are_skipped():
    data = b'{"source_record_id": "A1"}\n\n  \n{"source_record_id": "A2"}\r\n'
    assert [(r.line, r.fields["source_record_id"]) for r in read("jsonl", data)] == [(1, "A1"), (4, "A2")]


@pytest.mark.parametrize(("line", "problem"), [
    (b"not json at all", "not JSON"),
    (b'["a", "list"]', "not a JSON object"),
    (b'"a string"', "not a JSON object"),
    (b'{"source_record_id": "A1", "source_record_id": "A2"}', "appears twice"),
    (b'{"source_record_id": {"nested": "object"}}', "source_record_id: the value must be a string"),
    (b"[" * 100_000, "not JSON"),
])
def test_a_json_lines_line_that_is_not_a_json_object_of_strings_refuses_that_row_only(line, problem):
    rows = read("jsonl", b'{"source_record_id": "A1"}\n' + line + b'\n{"source_record_id": "A3"}\n')
    assert [r.line for r in rows] == [1, 2, 3]
    assert rows[0].problem is None and rows[2].problem is None
    assert problem in rows[1].problem


def test_json_lines_values_may_be_numbers_booleans_null_or_a_list_of_former_names():
    [raw] = read("jsonl", b'{"source_record_id": "A1", "nhs_number": 4234306118, "lead_professional": true, '
                          b'"middle_names": null, "former_family_names": ["Smith", "Jones"]}\n')
    assert raw.fields["nhs_number"] == "4234306118"
    assert raw.fields["lead_professional"] == "true"
    assert raw.fields["middle_names"] == ""
    assert raw.fields["former_family_names"] == "Smith;Jones"


def test_unknown_json_lines_keys_are_kept_and_structured_ones_are_not_read():
    [raw] = read("jsonl", b'{"source_record_id": "A1", "ethnicity": "x", "sen": {"need": "y"}, "empty": {}}\n')
    assert raw.fields["ethnicity"] == "x"
    assert raw.fields["sen"] == NOT_READ
    assert raw.fields["empty"] == ""


def test_an_empty_json_lines_file_is_refused_whole():
    with pytest.raises(FeedRejected, match="empty"):
        read("jsonl", b"\n \n")


def test_a_json_lines_line_longer_than_a_mebibyte_is_a_row_problem():
    long_line = b'{"source_record_id": "' + b"x" * (1 << 20) + b'"}\n'
    rows = read("jsonl", long_line + b'{"source_record_id": "A2"}\n')
    assert "longer than 1 MiB" in rows[0].problem
    assert (rows[1].line, rows[1].fields["source_record_id"]) == (2, "A2")


# --- FHIR ------------------------------------------------------------------------------------------------


def entry_url(n: int) -> str:
    return f"urn:uuid:00000000-0000-4000-8000-{n:012d}"


def bundle(*resources: dict) -> bytes:
    """A collection Bundle whose nth entry (from 0) has the fullUrl ``entry_url(n)``."""
    entries = [{"fullUrl": entry_url(n), "resource": r} for n, r in enumerate(resources)]
    return json.dumps({"resourceType": "Bundle", "type": "collection", "entry": entries}).encode()


PATIENT_URL = entry_url(0)

PATIENT = {
    "resourceType": "Patient",
    "id": "p1",
    "meta": {"lastUpdated": "2026-10-01T09:30:00Z"},
    "identifier": [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "4234306118"},
                   {"system": "https://gp.example/patient", "value": "GP-1"},
                   {"system": "https://contactpoint.example/Id/upn", "value": "E202200022001"}],
    "name": [{"use": "maiden", "family": "Smith"},
             {"use": "official", "family": "Da Silva", "given": ["Iain", "Sebastian", "John"]},
             {"use": "old", "family": "Jones"}],
    "gender": "other",
    "birthDate": "2022-09-12",
    "deceasedDateTime": "2026-01-02T10:00:00+00:00",
    "address": [{"use": "old", "line": ["1 Old Road"], "city": "Leeds", "postalCode": "LS1 1AA"},
                {"use": "home", "line": ["Flat 4", "124 Richards Grove", "Kentish Town"], "city": "London",
                 "postalCode": "NW6 7DX", "district": "Camden"}],
    "generalPractitioner": [{"type": "Organization", "display": "Khan Surgery",
                             "identifier": {"system": "https://fhir.nhs.uk/Id/ods-organization-code",
                                            "value": "F41415"},
                             "extension": [{"url": fhir.GP_START_EXTENSION, "valueDate": "2022-10-25"}]}],
    "extension": [{"url": fhir.WHEREABOUTS_EXTENSION, "valueCode": "current"}],
}


def related(name: dict, *, code: str | None = None, text: str | None = None, responsible: bool | None = None,
            phone: str | None = None, patient: str = PATIENT_URL, **more: object) -> dict:
    person: dict = {"resourceType": "RelatedPerson", "patient": {"reference": patient}, "name": [name], **more}
    concept: dict = {}
    if code:
        concept["coding"] = [{"system": fhir.ROLE_CODE_SYSTEM, "code": code}]
    if text:
        concept["text"] = text
    if concept:
        person["relationship"] = [concept]
    if responsible is not None:
        person["extension"] = [{"url": fhir.PARENTAL_RESPONSIBILITY_EXTENSION, "valueBoolean": responsible}]
    if phone:
        person["telecom"] = [{"system": "phone", "value": phone}]
    return person


def test_a_fhir_patient_and_its_related_people_map_to_the_documented_columns():
    data = bundle(PATIENT, related({"given": ["Eleanor"], "family": "Bailey"}, code="MTH", responsible=True,
                                   phone="07700 900885"),
                  related({"text": "Josephine Patel"}, text="Foster Carer", responsible=False))
    [raw] = read("fhir", data)
    assert raw.line == 1 and raw.problem is None
    assert raw.fields == row(
        source_record_id="GP-1", nhs_number="4234306118", upn="E202200022001",
        given_name="Iain", middle_names="Sebastian John", family_name="Da Silva",
        former_family_names="Smith;Jones", gender="not specified", date_of_birth="2022-09-12",
        date_of_death="2026-01-02", address_line_1="Flat 4", address_line_2="124 Richards Grove, Kentish Town",
        town="London", postcode="NW6 7DX", whereabouts="current", gp_practice_code="F41415",
        gp_practice_name="Khan Surgery", gp_start_date="2022-10-25", updated_at="2026-10-01",
        carer_1_name="Eleanor Bailey", carer_1_relationship="mother", carer_1_parental_responsibility="yes",
        carer_1_phone="07700 900885", carer_2_name="Josephine Patel", carer_2_relationship="foster carer",
        carer_2_parental_responsibility="no")


def test_an_explicit_source_record_identifier_wins_and_other_identifiers_are_refused():
    patient = PATIENT | {"identifier": [
        {"system": "https://gp.example/patient", "value": "GP-1"},
        {"system": fhir.SOURCE_RECORD_SYSTEM, "value": "SRC-9"},
        {"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "4234306118"},
        {"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "4078132014"}]}
    [raw] = read("fhir", bundle(patient))
    assert raw.fields["source_record_id"] == "SRC-9"
    assert raw.fields["nhs_number"] == "4234306118"
    assert raw.fields["Patient.identifier(https://gp.example/patient)"] == NOT_READ
    assert raw.fields["Patient.identifier(https://fhir.nhs.uk/Id/nhs-number)"] == NOT_READ


def test_fhir_genders_male_female_other_unknown_and_anything_else_is_passed_on_for_refusal():
    genders = {}
    for gender in ("male", "female", "other", "unknown", "boy"):
        [raw] = read("fhir", bundle(PATIENT | {"gender": gender}))
        genders[gender] = raw.fields["gender"]
    assert genders == {"male": "male", "female": "female", "other": "not specified",
                       "unknown": "not specified", "boy": "boy"}


def test_patient_elements_outside_the_mapping_become_extra_keys_refused_field_by_field():
    patient = PATIENT | {
        "maritalStatus": {"text": "single"}, "photo": [{"data": "AAAA"}],
        "communication": [{"language": {"text": "Polish"}}], "contact": [{"name": {"text": "Aunt"}}],
        "telecom": [{"system": "phone", "value": "07700 900001"}], "text": {"status": "generated", "div": "<div/>"},
        "extension": [*PATIENT["extension"], {"url": "https://example.org/ethnicity", "valueString": "x"}],
        "name": [*PATIENT["name"], {"use": "nickname", "given": ["Bill"]}],
        "multipleBirthBoolean": False, "deceasedBoolean": None, "managingOrganization": {},
    }
    [raw] = read("fhir", bundle(patient))
    extras = {key: value for key, value in raw.fields.items() if key not in COLUMNS}
    assert extras == dict.fromkeys(["Patient.maritalStatus", "Patient.photo", "Patient.communication",
                                    "Patient.contact", "Patient.telecom", "Patient.text",
                                    "Patient.extension(https://example.org/ethnicity)", "Patient.name(nickname)",
                                    "Patient.multipleBirthBoolean"], NOT_READ)
    _, refusals = validate(raw, today=TODAY)
    assert {r.field for r in refusals} == set(extras)
    assert all(isinstance(r, FieldRefusal) for r in refusals)


def test_a_gp_practice_may_be_a_reference_to_an_organization_entry():
    patient = PATIENT | {"generalPractitioner": [{"reference": "Organization/khan"},
                                                 {"reference": "Practitioner/dr-khan", "display": "Dr Khan"}]}
    organisation = {"resourceType": "Organization", "id": "khan", "name": "Khan Surgery",
                    "identifier": [{"system": fhir.ODS_SYSTEM, "value": "F41415"}]}
    [raw] = read("fhir", bundle(organisation, patient))
    assert raw.line == 2  # the Patient is the second entry
    assert (raw.fields["gp_practice_code"], raw.fields["gp_practice_name"]) == ("F41415", "Khan Surgery")
    assert raw.fields["Patient.generalPractitioner(reference)"] == NOT_READ  # a named doctor is not Schedule 1


def test_fhir_rows_are_numbered_by_entry_and_entries_that_are_not_rows_are_row_problems():
    data = bundle(related({"text": "Nobody's"}, patient="urn:uuid:not-in-this-bundle"),
                  {"resourceType": "Condition", "code": {"text": "asthma"}},
                  PATIENT,
                  related({"text": "A"}, patient="Patient/p1"), related({"text": "B"}, patient="Patient/p1"),
                  related({"text": "C"}, patient=entry_url(2)))
    rows = read("fhir", data)
    assert [(r.line, r.problem is None) for r in rows] == [(1, False), (2, False), (3, True)]
    assert "patient is not a Patient entry" in rows[0].problem
    assert "Condition" in rows[1].problem and "asthma" not in rows[1].problem
    assert (rows[2].fields["carer_1_name"], rows[2].fields["carer_2_name"]) == ("A", "B")
    assert rows[2].fields["RelatedPerson[3]"] == NOT_READ


def test_a_json_lines_line_in_windows_1252_is_read_and_flagged():
    rows = read("jsonl", b'{"source_record_id": "A1"}\n' + '{"source_record_id": "A2", "given_name": "Zoë", '
                '"family_name": "Ng", "date_of_birth": "2014-07-03"}\n'.encode("cp1252"))
    assert [(r.fields["given_name"], r.read_as) for r in rows] == [("", None), ("Zoë", "Windows-1252")]
    _, problems = validate(rows[1], today=TODAY)
    assert [(p.line, p.field) for p in problems] == [(2, "encoding")]


def test_related_person_elements_outside_the_mapping_are_refused():
    person = related({"text": "Eleanor Bailey"}, code="MTH", address=[{"city": "Leeds"}], gender="female",
                     telecom=[{"system": "email", "value": "e@example.org"}])
    [raw] = read("fhir", bundle(PATIENT, person))
    assert {k for k in raw.fields if k not in COLUMNS} == {
        "RelatedPerson.address", "RelatedPerson.gender", "RelatedPerson.telecom(email)"}


@pytest.mark.parametrize(("data", "message"), [
    (b"", "empty"),
    (b"\xff\xfe{}", "not UTF-8"),
    (b"{not json", "not JSON"),
    (b'{"resourceType": "Patient"}', "not a FHIR Bundle"),
    (b'[{"resourceType": "Bundle"}]', "not a FHIR Bundle"),
    (b'{"resourceType": "Bundle", "entry": {}}', "must be a list"),
])
def test_a_file_that_is_not_a_fhir_bundle_is_refused_whole(data, message):
    with pytest.raises(FeedRejected, match=message):
        read("fhir", data)


def test_a_deeply_nested_fhir_element_is_refused_without_exhausting_the_stack():
    deep = json.loads("[" * 900 + '"x"' + "]" * 900)
    [raw] = read("fhir", bundle(PATIENT | {"maritalStatus": deep}))
    assert raw.fields["Patient.maritalStatus"] == NOT_READ


def test_the_fhir_writer_refuses_to_drop_a_column_it_cannot_carry():
    with pytest.raises(ValueError, match="setting_urn"):
        written("fhir", [row(source_record_id="A1", setting_urn="123456")])


# --- CTF -------------------------------------------------------------------------------------------------

CTF = """<?xml version="1.0" encoding="UTF-8"?>
<CTfile>
  <Header>
    <DocumentName>Common Transfer File</DocumentName>
    <CTFversion>21.0</CTFversion>
    <SourceSchool>
      <LEA>202</LEA>
      <Estab>2001</Estab>
      <SchoolName>Long Primary Academy</SchoolName>
      <AcademicYear>2026</AcademicYear>
    </SourceSchool>
    <DestSchool><LEA>203</LEA><Estab>4000</Estab></DestSchool>
  </Header>
  <CTFpupilData>
    <Pupil>
      <UPN>E202200022001</UPN>
      <UniqueLearnerNumber>8586185697</UniqueLearnerNumber>
      <Surname>Da Silva</Surname>
      <Forename>Noah</Forename>
      <DOB>2018-08-26</DOB>
      <Sex>M</Sex>
      <BasicDetails>
        <MiddleNames>James</MiddleNames>
        <FormerSurname>Smith</FormerSurname>
        <Ethnicity>WBRI</Ethnicity>
        <NCyearActual>3</NCyearActual>
        <MedicalFlag>true</MedicalFlag>
      </BasicDetails>
      <SENhistory><SEN><StartDate>2024-01-01</StartDate><SENprovision>E</SENprovision></SEN></SENhistory>
      <Attendance><YearData><SessionsPossible>300</SessionsPossible></YearData></Attendance>
      <FSMhistory/>
      <Address>
        <BS7666Address>
          <SAON>Flat 4</SAON><PAON>124</PAON><Street>Richards Grove</Street>
          <Town>London</Town><PostTown>LONDON</PostTown>
          <UniquePropertyReferenceNumber>100023336956</UniquePropertyReferenceNumber>
        </BS7666Address>
        <PostCode>NW6 7DX</PostCode>
        <County>Greater London</County>
        <Easting>527000</Easting>
      </Address>
      <Contacts>
        <Contact>
          <Order>2</Order><Title>Mr</Title><Forename>Leonard</Forename><Surname>Holland</Surname>
          <Relationship>PAR</Relationship><Responsibility>0</Responsibility>
          <Email>l@example.org</Email>
        </Contact>
        <Contact>
          <Order>1</Order><Title>Mrs</Title><Forename>Clare</Forename><MiddleNames>Ann</MiddleNames>
          <Surname>Holland</Surname><Relationship>FOS</Relationship><Responsibility>1</Responsibility>
          <Address><AddressAsPupil>true</AddressAsPupil></Address>
          <Phones>
            <Phone><TelephoneType>H</TelephoneType><PhoneNo>07700 900476</PhoneNo></Phone>
            <Phone><TelephoneType>W</TelephoneType><PhoneNo>020 7946 0000</PhoneNo></Phone>
          </Phones>
        </Contact>
        <Contact><Order>3</Order><Forename>Grace</Forename><Surname>Neighbour</Surname></Contact>
      </Contacts>
      <SchoolHistory>
        <School><LEA>202</LEA><Estab>2001</Estab><EntryDate>2022-09-01</EntryDate></School>
        <School><LEA>203</LEA><Estab>2999</Estab><EntryDate>2021-09-01</EntryDate>
          <LeavingReason>EXC</LeavingReason></School>
      </SchoolHistory>
    </Pupil>
    <Pupil>
      <ApplicationReference>APP-2</ApplicationReference>
      <UPN>K202200018001</UPN>
      <Surname>Tucker</Surname>
      <Forename>Evie</Forename>
      <DOB>2014-02-07</DOB>
      <Gender>F</Gender>
      <Address><AddressLines><AddressLine1>44 Thomas Row</AddressLine1><AddressLine2>Camden</AddressLine2>
        <AddressLine3>London</AddressLine3></AddressLines><PostCode>NW3 4NY</PostCode></Address>
    </Pupil>
  </CTFpupilData>
</CTfile>
"""


def test_a_ctf_pupil_maps_to_the_documented_columns():
    first, second = read("ctf", CTF.encode())
    schedule_1 = {key: value for key, value in first.fields.items() if key in COLUMNS}
    assert schedule_1 == row(
        source_record_id="E202200022001", upn="E202200022001", uln="8586185697", family_name="Da Silva",
        given_name="Noah", middle_names="James", former_family_names="Smith", gender="male",
        date_of_birth="2018-08-26", address_line_1="Flat 4", address_line_2="124 Richards Grove",
        town="London", postcode="NW6 7DX", carer_1_name="Clare Ann Holland", carer_1_relationship="foster carer",
        carer_1_parental_responsibility="yes", carer_1_phone="07700 900476", carer_2_name="Leonard Holland",
        carer_2_relationship="parent", carer_2_parental_responsibility="no", setting_urn="2022001",
        setting_name="Long Primary Academy", setting_start_date="2022-09-01")
    assert {key: value for key, value in second.fields.items() if value} == {
        "source_record_id": "APP-2", "upn": "K202200018001", "family_name": "Tucker", "given_name": "Evie",
        "date_of_birth": "2014-02-07", "gender": "female", "address_line_1": "44 Thomas Row",
        "address_line_2": "Camden", "town": "London", "postcode": "NW3 4NY", "setting_urn": "2022001",
        "setting_name": "Long Primary Academy"}


def test_case_information_in_a_ctf_is_refused_field_by_field_by_xml_path_and_never_read():
    first, _ = read("ctf", CTF.encode())
    extras = {key: value for key, value in first.fields.items() if key not in COLUMNS}
    assert set(extras) == {
        "Pupil/BasicDetails/Ethnicity", "Pupil/BasicDetails/NCyearActual", "Pupil/BasicDetails/MedicalFlag",
        "Pupil/SENhistory", "Pupil/Attendance", "Pupil/Address/BS7666Address/UniquePropertyReferenceNumber",
        "Pupil/Address/Easting", "Pupil/Contacts/Contact[1]/Phones/Phone", "Pupil/Contacts/Contact[2]/Email",
        "Pupil/Contacts/Contact[3]", "Pupil/SchoolHistory/School[2]"}  # FSMhistory is empty: nothing to refuse
    assert set(extras.values()) == {NOT_READ}
    for case_information in ("WBRI", "SENprovision", "300", "EXC", "l@example.org"):
        assert all(case_information not in value for value in first.fields.values())
    row_, refusals = validate(first, today=TODAY)
    assert row_ is not None  # taken, without them
    assert sorted(r.field for r in refusals) == sorted(extras)


def test_a_ctf_row_is_numbered_by_its_pupil_and_also_gives_the_pupils_line_in_the_file():
    first, second = read("ctf", CTF.encode())
    lines = CTF.splitlines()
    assert (first.line, second.line) == (1, 2)
    assert lines[first.source_line - 1].strip() == "<Pupil>"
    assert lines[second.source_line - 1].strip() == "<Pupil>"
    assert first.source_line < second.source_line


def test_a_ctf_sent_by_a_local_authority_names_no_setting():
    data = CTF.replace("<Estab>2001</Estab>", "<Estab>LLLL</Estab>", 1).encode()
    first, _ = read("ctf", data)
    assert (first.fields["setting_urn"], first.fields["setting_name"]) == ("", "")


def test_a_ctf_urn_in_the_header_is_the_setting():
    data = CTF.replace("<LEA>202</LEA>", "<URN>331197</URN><LEA>202</LEA>", 1).encode()
    first, _ = read("ctf", data)
    assert first.fields["setting_urn"] == "331197"


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol9 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
]>
<CTfile><Header/><CTFpupilData><Pupil><Surname>&lol9;</Surname></Pupil></CTFpupilData></CTfile>
"""


def test_a_billion_laughs_ctf_is_refused_whole():
    with pytest.raises(FeedRejected, match="DTD"):
        read("ctf", BILLION_LAUGHS)


def test_a_ctf_with_an_external_entity_is_refused_whole_without_reading_the_file(tmp_path: Path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    data = (f'<?xml version="1.0"?>\n<!DOCTYPE CTfile [<!ENTITY xxe SYSTEM "file://{secret}">]>\n'
            "<CTfile><Header/><CTFpupilData><Pupil><Surname>&xxe;</Surname></Pupil></CTFpupilData></CTfile>")
    with pytest.raises(FeedRejected, match="DTD") as refused:
        read("ctf", data.encode())
    assert "TOP-SECRET" not in str(refused.value)


def test_a_ctf_with_an_undeclared_entity_is_refused_whole():
    with pytest.raises(FeedRejected, match="not well-formed XML \\(line 1\\)"):
        read("ctf", b"<CTfile><Header/><CTFpupilData><Pupil><Surname>&xxe;</Surname></Pupil></CTFpupilData></CTfile>")


@pytest.mark.parametrize(("data", "message"), [
    (b"", "empty"),
    (b"   \n", "empty"),
    (b"<ATfile><Header/></ATfile>", "root element must be CTfile"),
    (b"<CTfile><Header/><CTFpupilData><Pupil></CTFpupilData></CTfile>", "not well-formed XML"),
    (b"<CTfile><CTFpupilData><Pupil><UPN>A</UPN></Pupil></CTFpupilData></CTfile>", "no Header"),
    (b"<CTfile></CTfile>", "no Header"),
    (b"<CTfile><Header/><CTFpupilData><Pupil>" + b"<a>" * 5000 + b"</a>" * 5000 + b"</Pupil></CTFpupilData>"
     b"</CTfile>", "nested more than 64"),
])
def test_a_file_that_is_not_a_readable_ctf_is_refused_whole(data, message):
    with pytest.raises(FeedRejected, match=message):
        read("ctf", data)


def test_the_ctf_writer_writes_one_school_only_and_refuses_columns_it_cannot_carry():
    with pytest.raises(ValueError, match="several settings"):
        written("ctf", [row(setting_urn="100001"), row(setting_urn="100002")])
    with pytest.raises(ValueError, match="nhs_number"):
        written("ctf", [row(source_record_id="A1", nhs_number="4234306118")])


def test_the_ctf_writer_writes_a_dfe_number_as_lea_and_estab():
    data = written("ctf", [row(source_record_id="A1", setting_urn="2022001", setting_name="Long Primary")])
    assert b"<LEA>202</LEA>" in data and b"<Estab>2001</Estab>" in data
    [raw] = read("ctf", data)
    assert raw.fields["setting_urn"] == "2022001"


# --- choosing a format -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("filename", "fmt"), [
    ("gp.csv", "csv"), ("GP.CSV", "csv"), ("feed.jsonl", "jsonl"), ("feed.ndjson", "jsonl"),
    ("bundle.json", "fhir"), ("/in/8202001_CTF_2034000_001.xml", "ctf"),
])
def test_the_format_is_detected_from_the_file_extension(filename, fmt):
    assert formats.detect(filename) == fmt


def test_an_unknown_extension_or_format_is_refused():
    with pytest.raises(FeedRejected, match="unknown feed format"):
        formats.detect("feed.xlsx")
    with pytest.raises(FeedRejected, match="unknown feed format"):
        list(formats.read("xlsx", io.BytesIO(b"")))
