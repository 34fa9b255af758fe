"""The generated feeds: format, valid identifiers, plausible dates, and the people behind them (truth.csv)."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from datetime import date

import nhs_number
import pytest
import uk_postcodes_parsing

from contactpoint.children.identifiers import (
    normalise_nhs_number,
    normalise_postcode,
    normalise_uln,
    normalise_upn,
)
from contactpoint.dates import school_age
from contactpoint.errors import ValidationError
from contactpoint.synthetic.dates import earliest_child_dob
from contactpoint.synthetic.mess import WELL_FORMED_POSTCODE

# DESIGN.md section 5, transcribed independently of the generator's own list.
DOCUMENTED_COLUMNS = [
    "source_record_id", "given_name", "middle_names", "family_name", "former_family_names", "gender",
    "date_of_birth", "date_of_death", "nhs_number", "upn", "uln", "address_line_1", "address_line_2", "town",
    "postcode", "whereabouts", "carer_1_name", "carer_1_relationship", "carer_1_parental_responsibility",
    "carer_1_phone", "carer_2_name", "carer_2_relationship", "carer_2_parental_responsibility",
    "carer_2_phone", "setting_urn", "setting_name", "setting_start_date", "gp_practice_code",
    "gp_practice_name", "gp_start_date", "service_name", "practitioner_name", "practitioner_phone",
    "involvement_start_date", "involvement_end_date", "lead_professional", "caf_completed",
    "sensitive_service", "updated_at",
]
DATE_COLUMNS = ["date_of_birth", "date_of_death", "setting_start_date", "gp_start_date",
                "involvement_start_date", "involvement_end_date", "updated_at"]
FEEDS = ["gp-registrations", "child-benefit", "school-census-202", "school-census-203", "la-social-care-202",
         "la-social-care-203"]


def real_date(text: str) -> date | None:
    """The date a column holds, or None where it is empty or no real date (a date of birth such as
    '2019-02-30', one of the mess's impossible dates)."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def unusable_nhs_number(value: str) -> bool:
    """Refused by the validator (a keying slip), or valid but not from England's ranges (Scotland's CHI,
    Northern Ireland's)."""
    try:
        normalise_nhs_number(value)
    except ValidationError:
        return True
    return not nhs_number.REGION_ENGLAND.contains_number(value)


def test_one_feed_per_national_source_and_two_per_la_beside_truth(run):
    assert sorted(p.name for p in run.out.iterdir()) == sorted([f"{f}.csv" for f in FEEDS] + ["truth.csv"])


def test_columns_are_exactly_the_documented_feed_columns(run):
    for feed in FEEDS:
        header = (run.out / f"{feed}.csv").read_text(encoding="utf-8").split("\n", 1)[0]
        assert header.split(",") == DOCUMENTED_COLUMNS, feed


def test_truth_has_source_record_and_person_and_covers_every_row(run):
    assert (run.out / "truth.csv").read_text().split("\n", 1)[0] == "source,source_record_id,person_id"
    for feed in FEEDS:
        assert all((feed, row["source_record_id"]) in run.truth for row in run.feeds[feed])
    assert len(run.truth) == sum(len(run.feeds[f]) for f in FEEDS)


def test_source_record_ids_are_unique_within_each_source_and_look_like_its_own(run):
    formats = {"gp-registrations": r"GP-\d{9}", "child-benefit": r"CHB\d{8}[A-Z]{2}/\d{2}",
               "school-census-202": r"\d{6}-\d{6}", "la-social-care-202": r"SC202-\d{7}"}
    for feed in FEEDS:
        ids = [row["source_record_id"] for row in run.feeds[feed]]
        assert len(ids) == len(set(ids)), feed
    for feed, pattern in formats.items():
        import re
        assert all(re.fullmatch(pattern, row["source_record_id"]) for row in run.feeds[feed]), feed


def test_every_identifier_is_valid(run):
    checked = Counter()
    for feed in FEEDS:
        for row in run.feeds[feed]:
            for column, normalise in (("upn", normalise_upn), ("uln", normalise_uln),
                                      ("postcode", normalise_postcode)):
                if row[column]:
                    assert normalise(row[column]) == row[column], (feed, column, row[column])
                    checked[column] += 1
    # NHS numbers: the child's own, or (MessRates.invalid_nhs_number_*) one England cannot use.
    for _, row, child, _ in run.rows_with_people():
        if row["nhs_number"] == child.nhs_number:
            assert normalise_nhs_number(child.nhs_number) == child.nhs_number
            checked["nhs_number"] += 1
        elif row["nhs_number"]:
            assert unusable_nhs_number(row["nhs_number"]), row["nhs_number"]
            checked["unusable nhs_number"] += 1
    assert min(checked.values()) > 10 and checked["nhs_number"] > 100, checked


def test_every_postcode_is_well_formed_and_real_or_one_slip_from_the_childs_own(run):
    real, slips = 0, 0
    for _, row, _, household in run.rows_with_people():
        postcode = row["postcode"]
        if not postcode:
            continue
        assert WELL_FORMED_POSTCODE.fullmatch(postcode), postcode
        own = {household.address.postcode} | ({household.previous_address.postcode}
                                               if household.previous_address else set())
        if postcode in own:
            assert uk_postcodes_parsing.is_in_ons_postcode_directory(postcode)
            real += 1
        else:
            assert any(_one_slip(postcode, p) for p in own), (postcode, own)
            slips += 1
    assert slips and slips < 0.05 * real


def _one_slip(typed: str, postcode: str) -> bool:
    """One character changed, or two neighbouring ones exchanged."""
    if len(typed) != len(postcode):
        return False
    differ = [i for i, (a, b) in enumerate(zip(typed, postcode, strict=True)) if a != b]
    return len(differ) == 1 or (len(differ) == 2 and differ[1] == differ[0] + 1
                                and typed[differ[0]] == postcode[differ[1]] and typed[differ[1]] == postcode[differ[0]])


def test_identifiers_belong_to_one_child_each(run):
    for column in ("nhs_number", "upn", "uln"):
        holders: dict[str, set[str]] = defaultdict(set)
        for _, row, child, _ in run.rows_with_people():
            if row[column] and not (column == "nhs_number" and unusable_nhs_number(row[column])):
                holders[row[column]].add(child.person_id)
        assert holders and all(len(people) == 1 for people in holders.values()), column
    for child, _ in run.children.values():
        assert child.upn[1:4] in ("202", "203") or not child.upn


def test_no_date_is_in_the_future(run):
    impossible = 0
    for feed in FEEDS:
        for row in run.feeds[feed]:
            for column in DATE_COLUMNS:
                if column == "date_of_birth" and row[column] and not real_date(row[column]):
                    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", row[column])  # no real date, but written as one
                    impossible += 1
                elif row[column]:
                    assert date.fromisoformat(row[column]) <= run.today, (feed, column, row)
    assert impossible


def test_updated_at_is_not_before_anything_the_row_records(run):
    for feed in FEEDS:
        for row in run.feeds[feed]:
            for column in ("date_of_birth", "date_of_death", "gp_start_date", "setting_start_date",
                           "involvement_start_date", "involvement_end_date"):
                if column != "date_of_birth" or real_date(row[column]):
                    assert row[column] <= row["updated_at"], (feed, column, row)


def test_no_row_records_an_event_before_its_own_date_of_birth(run):
    # Even where the row's date of birth has its day and month swapped or a digit mistyped, so the row stays
    # consistent.
    for feed in FEEDS:
        for row in run.feeds[feed]:
            if not real_date(row["date_of_birth"]):
                continue
            for column in ("date_of_death", "gp_start_date", "setting_start_date", "involvement_start_date"):
                assert not row[column] or row["date_of_birth"] <= row[column], (feed, column, row)


def test_everyone_is_a_child_born_no_later_than_today(run):
    earliest = earliest_child_dob(run.today)
    dobs = [dob for feed in FEEDS for row in run.feeds[feed] if (dob := real_date(row["date_of_birth"]))]
    assert all(earliest <= dob <= run.today for dob in dobs)
    ages = Counter(min(17, (run.today - dob).days // 365) for dob in dobs)
    assert set(ages) == set(range(18)) and max(ages.values()) < 3 * min(ages.values())  # roughly uniform


def test_involvements_end_after_they_start(run):
    for feed in ("la-social-care-202", "la-social-care-203"):
        for row in run.feeds[feed]:
            if row["involvement_end_date"]:
                assert row["involvement_start_date"] <= row["involvement_end_date"]


def test_school_census_holds_only_children_of_school_age(run):
    for source, row, child, _ in run.rows_with_people():
        if source.startswith("school-census"):
            assert 4 <= school_age(child.dob, run.today) <= 17
            assert row["setting_urn"] and len(row["setting_urn"]) == 6 and row["setting_name"]


def test_each_source_covers_its_share_of_children(run):
    children = len(run.children)
    people = defaultdict(set)
    for source, _, child, _ in run.rows_with_people():
        people[source.rsplit("-", 1)[0] if source[-1].isdigit() else source].add(child.person_id)
    assert 0.94 < len(people["gp-registrations"]) / children < 0.99
    assert 0.80 < len(people["child-benefit"]) / children < 0.92
    assert 0.60 < len(people["school-census"]) / children < 0.80
    assert 0.05 <= len(people["la-social-care"]) / children <= 0.08


def test_gp_rows_carry_a_practice_and_child_benefit_rows_a_claimant_but_no_nhs_number(run):
    for source, row, child, _ in run.rows_with_people():
        if source == "gp-registrations":
            assert row["gp_practice_code"][0].isalpha() and row["gp_practice_code"][1:].isdigit()
            # (compared with the true date of birth: the row's own may have its day and month swapped)
            assert row["gp_practice_name"] and date.fromisoformat(row["gp_start_date"]) >= child.dob
    for row in run.feeds["child-benefit"]:
        assert not row["nhs_number"] and row["carer_1_name"] and row["carer_1_parental_responsibility"]
        assert row["carer_1_relationship"] != "foster carer"


def test_social_care_rows_name_a_service_and_practitioner_and_sensitive_ones_are_rare(run):
    rows = run.feeds["la-social-care-202"] + run.feeds["la-social-care-203"]
    assert all(row["service_name"] and row["practitioner_name"] and row["practitioner_phone"] for row in rows)
    assert {row["lead_professional"] for row in rows} == {"yes", "no"}
    assert {row["caf_completed"] for row in rows} == {"yes", "no"}
    assert 0 < sum(row["sensitive_service"] == "yes" for row in rows) < 0.15 * len(rows)
    whereabouts = {"current", "last_known", "no_known_address", "left_england"}
    assert {row["whereabouts"] for row in rows} <= whereabouts


def test_twins_are_two_people_with_the_same_birthday_and_address(run):
    pairs = [(h.children[i - 1], c, h) for h in run.households for i, c in enumerate(h.children) if c.twin]
    assert len(pairs) > 5
    people_in_truth = set(run.truth.values())
    for first, second, household in pairs:
        assert first.dob == second.dob and first.family == second.family
        assert first.given != second.given
        assert first.nhs_number != second.nhs_number and (first.upn != second.upn or not first.upn)
        assert first.person_id != second.person_id
        assert {first.person_id, second.person_id} <= people_in_truth or household.kind == "foster"
    twin_rows = [row for source, row, child, _ in run.rows_with_people()
                 if source == "gp-registrations" and child.twin]
    assert twin_rows


def test_siblings_share_an_address_and_carers(run):
    families = [h for h in run.households if len(h.children) > 1]
    assert len(families) > 0.3 * len(run.households)
    by_household = defaultdict(set)
    for source, row, _, household in run.rows_with_people():
        if source.startswith("school-census") and not household.previous_address:
            by_household[household.index].add((row["carer_1_name"], row["address_line_1"], row["postcode"]))
    shared = [rows for rows in by_household.values() if len(rows) == 1]
    assert len(shared) > 0.9 * len(by_household)


def test_some_children_moved_between_the_generated_las_and_appear_in_both(run):
    movers = {c.person_id for h in run.households if h.moved_between_las for c in h.children}
    assert movers
    las_of = defaultdict(set)
    for source, _, child, _ in run.rows_with_people():
        if source[-1].isdigit():
            las_of[child.person_id].add(source[-3:])
    assert any(len(las_of[p]) == 2 for p in movers)


def test_upns_of_children_who_moved_la_after_starting_school_come_from_the_old_la(run):
    seen = 0
    for household in run.households:
        if household.moved_between_las:
            for child in household.children:
                if child.upn and child.upn[1:4] == household.previous_address.la_code:
                    seen += 1
    assert seen > 0


@pytest.mark.parametrize("feed", FEEDS)
def test_bad_rows_are_not_in_truth_and_each_is_refused_for_one_reason(run_with_bad_rows, feed):
    rows = run_with_bad_rows.feeds[feed]
    bad = [row for row in rows if (feed, row["source_record_id"]) not in run_with_bad_rows.truth]
    assert len(bad) == 12 and rows[-12:] == bad  # appended after the real rows
    assert all(len(_faults(row, run_with_bad_rows.today)) == 1 for row in bad)
    # Real rows carry only the faults of the mess (MessRates): an NHS number, a missing or impossible date of
    # birth; and they are all in truth.csv.
    mess = {"nhs_number", "impossible date", "missing date of birth"}
    assert all(set(_faults(row, run_with_bad_rows.today)) <= mess for row in rows[:-12])
    ids = [row["source_record_id"] for row in rows]
    assert len(ids) == len(set(ids))


def _faults(row: dict[str, str], today: date) -> list[str]:
    faults = []
    for column, normalise in (("nhs_number", normalise_nhs_number), ("upn", normalise_upn),
                              ("uln", normalise_uln), ("postcode", normalise_postcode)):
        if row[column]:
            try:
                normalise(row[column])
            except ValidationError:
                faults.append(column)
    if row["gender"] not in ("male", "female", "not specified"):
        faults.append("gender")
    if not row["date_of_birth"]:
        return [*faults, "missing date of birth"]
    try:
        if date.fromisoformat(row["date_of_birth"]) > today:
            faults.append("future date of birth")
    except ValueError:
        faults.append("impossible date")
    return faults
