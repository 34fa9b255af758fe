"""The mess: each transformation on its own, then each kind measured in a generated run against the truth."""

from __future__ import annotations

import calendar
import math
import random
from collections import Counter, defaultdict
from datetime import date

import nhs_number
import pytest
from hypothesis import given
from hypothesis import strategies as st
from rapidfuzz.distance import OSA

from contactpoint.children.identifiers import normalise_nhs_number, normalise_postcode
from contactpoint.errors import ValidationError
from contactpoint.names import name_roots, normalise_name
from contactpoint.synthetic.mess import (
    SOURCE_MISTAKES,
    WELL_FORMED_POSTCODE,
    MessRates,
    chi_number,
    dob_slip,
    dob_typo,
    impossible_date,
    invalid_nhs_number,
    nhs_number_slip,
    nickname_choices,
    northern_ireland_number,
    postcode_typo,
    strip_accents,
    swap_day_month,
    typo,
)
from contactpoint.synthetic.pools import ACCENTED_BOYS, ACCENTED_GIRLS, build_pools
from contactpoint.synthetic.postcodes import LA_DISTRICTS, incodes

NAME_CHARACTERS = st.sampled_from("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZëéèïöüçñ-' ")
RATES = MessRates()


@given(st.text(NAME_CHARACTERS, min_size=1, max_size=24), st.integers(0, 2**32))
def test_a_typo_is_exactly_one_edit_away(name, seed):
    out = typo(name, random.Random(seed))
    assert out != name
    assert OSA.distance(out.lower(), name.lower()) == 1  # insert, delete, substitute or transpose


@given(st.from_regex(r"[A-Z][a-z]{1,10}", fullmatch=True), st.integers(0, 2**32))
def test_a_typo_changes_the_name_as_matching_sees_it_and_keeps_its_capital(name, seed):
    out = typo(name, random.Random(seed))
    assert normalise_name(out) != normalise_name(name)
    assert out[0].isupper()


@given(st.dates(date(2000, 1, 1), date(2030, 12, 31)))
def test_day_and_month_swap_only_where_that_makes_another_real_date(dob):
    swapped = swap_day_month(dob)
    if dob.day > 12 or dob.day == dob.month:
        assert swapped is None
    else:
        assert swapped != dob and (swapped.day, swapped.month) == (dob.month, dob.day)
        assert swap_day_month(swapped) == dob


# Real postcodes of every hand-written district (outward codes of 2 to 4 characters, all the shapes).
REAL_POSTCODES = st.sampled_from(sorted({oc for districts in LA_DISTRICTS.values() for oc, _ in districts})) \
    .flatmap(lambda outcode: st.sampled_from(incodes(outcode)).map(lambda incode: f"{outcode} {incode}"))
SEEDS = st.integers(0, 2**32)


def one_slip(typed: str, original: str) -> bool:
    """Exactly one character changed, or two neighbouring different characters exchanged."""
    if len(typed) != len(original):
        return False
    differ = [i for i, (a, b) in enumerate(zip(typed, original, strict=True)) if a != b]
    if len(differ) == 1:
        return True
    i, j = differ if len(differ) == 2 else (0, 0)
    return j == i + 1 and typed[i] == original[j] and typed[j] == original[i]


@given(REAL_POSTCODES, SEEDS)
def test_a_postcode_typo_is_a_well_formed_postcode_one_slip_from_the_real_one(postcode, seed):
    assert WELL_FORMED_POSTCODE.fullmatch(postcode)  # every real postcode is, by the same pattern
    typed = postcode_typo(postcode, random.Random(seed))
    assert typed != postcode and one_slip(typed, postcode)
    assert WELL_FORMED_POSTCODE.fullmatch(typed)
    assert normalise_postcode(typed) == typed  # ingest reads it as a postcode: a wrong one, not an invalid one


def test_postcode_typos_are_mostly_changed_characters_and_some_transpositions():
    rng = random.Random(3)
    kinds = Counter(sum(a != b for a, b in zip(postcode_typo("NW1 6XE", rng), "NW1 6XE", strict=True))
                    for _ in range(2000))
    assert set(kinds) == {1, 2} and 0.1 < kinds[2] / 2000 < 0.3


def _digits(d: date) -> str:
    return f"{d.year:04d}{d.month:02d}{d.day:02d}"


@given(st.dates(date(2000, 1, 1), date(2030, 12, 31)), SEEDS)
def test_a_dob_typo_is_another_real_date_one_digit_away_and_never_a_day_month_swap(dob, seed):
    typed = dob_typo(dob, random.Random(seed))
    assert isinstance(typed, date) and typed != dob and typed != swap_day_month(dob)
    assert sum(a != b for a, b in zip(_digits(typed), _digits(dob), strict=True)) == 1


@given(st.dates(date(2000, 1, 1), date(2030, 12, 31)), SEEDS)
def test_a_dob_slip_is_another_real_date_with_one_part_wrong_in_both_its_digits(dob, seed):
    """Two digits next to each other swapped, or a part one off across ten: never a one-digit typo, never the day
    and month swapped, always within the bounds given."""
    earliest, latest = date(2000, 1, 1), date(2030, 12, 31)
    typed = dob_slip(dob, random.Random(seed), earliest, latest)
    if typed is None:
        return
    assert typed != swap_day_month(dob) and earliest <= typed <= latest
    changed = [i for i, (a, b) in enumerate(zip(_digits(typed), _digits(dob), strict=True)) if a != b]
    assert len(changed) == 2 and changed[1] == changed[0] + 1 and changed[0] in (2, 4, 6)  # one part's two digits
    parts = [(dob.year % 100, typed.year % 100), (dob.month, typed.month), (dob.day, typed.day)][(changed[0] - 2) // 2]
    was, now = parts
    assert now == was % 10 * 10 + was // 10 or abs(now - was) == 1


def test_dob_slips_include_the_familiar_ones():
    rng = random.Random(1)
    assert {dob_slip(date(2021, 5, 3), rng) for _ in range(40)} == {date(2012, 5, 3), date(2021, 5, 30)}
    assert date(2020, 4, 9) in {dob_slip(date(2019, 4, 9), rng, latest=date(2026, 11, 24)) for _ in range(40)}
    assert dob_slip(date(2011, 11, 11), rng) is None  # every part reads the same either way, and none ends 0 or 9


@given(st.dates(date(2008, 11, 25), date(2026, 11, 24)), SEEDS)
def test_a_dob_typo_stays_between_the_bounds_given(dob, seed):
    earliest, latest = date(2008, 11, 25), max(dob, date(2026, 11, 24))
    typed = dob_typo(dob, random.Random(seed), earliest, latest)
    assert typed is not None and earliest <= typed <= latest
    assert dob_typo(dob, random.Random(seed), dob, dob) is None  # no room: no typo


@given(st.dates(date(2000, 1, 1), date(2030, 12, 31)), SEEDS)
def test_an_impossible_date_is_written_like_a_date_near_the_real_one_and_is_none(dob, seed):
    text = impossible_date(dob, random.Random(seed))
    year, month, day = (int(part) for part in text.split("-"))
    assert len(text) == 10 and year == dob.year
    with pytest.raises(ValueError):
        date.fromisoformat(text)
    if 1 <= month <= 12:  # a day past the end of the month: the child's own, or a neighbour of it
        assert day > calendar.monthrange(year, month)[1] and abs(month - dob.month) <= 1
    else:  # day and month swapped
        assert (month, day) == (dob.day, dob.month)


def test_impossible_dates_include_the_familiar_ones():
    rng = random.Random(1)
    made = {impossible_date(date(2019, 2, 10), rng) for _ in range(50)}
    assert made == {"2019-02-29", "2019-02-30", "2019-02-31"}
    assert impossible_date(date(2015, 3, 25), rng) in {"2015-25-03"}
    assert impossible_date(date(2016, 4, 3), rng) == "2016-04-31"


VALID_NHS_NUMBERS = st.integers(40_000_000, 79_999_999).filter(lambda n: not 50_000_000 <= n < 60_000_000) \
    .map(str).flatmap(lambda body: st.sampled_from([body + d for d in "0123456789"
                                                    if nhs_number.calculate_checksum(body + d) != 10])) \
    .map(lambda nine: nine + str(nhs_number.calculate_checksum(nine)))


def _refused(value: str) -> bool:
    try:
        normalise_nhs_number(value)
    except ValidationError:
        return True
    return False


@given(VALID_NHS_NUMBERS, SEEDS)
def test_an_nhs_number_slip_is_one_slip_after_the_first_digit_and_its_check_digit_no_longer_fits(valid, seed):
    assert not _refused(valid)
    slipped = nhs_number_slip(valid, random.Random(seed))
    assert one_slip(slipped, valid) and slipped[0] == valid[0]
    assert _refused(slipped)


@given(st.dates(date(2008, 1, 1), date(2026, 12, 31)), SEEDS)
def test_a_chi_number_is_valid_but_scottish_and_begins_with_the_date_of_birth(dob, seed):
    chi = chi_number(dob, random.Random(seed))
    assert normalise_nhs_number(chi) == chi and chi[:6] == dob.strftime("%d%m%y")
    assert nhs_number.REGION_SCOTLAND.contains_number(chi) and not nhs_number.REGION_ENGLAND.contains_number(chi)


@given(SEEDS)
def test_a_northern_irish_number_is_valid_but_not_englands(seed):
    number = northern_ireland_number(random.Random(seed))
    assert normalise_nhs_number(number) == number
    assert nhs_number.REGION_NORTHERN_IRELAND.contains_number(number)
    assert not nhs_number.REGION_ENGLAND.contains_number(number)


@given(VALID_NHS_NUMBERS, st.dates(date(2008, 1, 1), date(2026, 12, 31)), SEEDS)
def test_an_invalid_nhs_number_is_refused_or_outside_englands_ranges(valid, dob, seed):
    invalid = invalid_nhs_number(valid, dob, random.Random(seed))
    assert invalid != valid and len(invalid) == 10 and invalid.isdigit()
    assert _refused(invalid) or not nhs_number.REGION_ENGLAND.contains_number(invalid)


def test_invalid_nhs_numbers_are_slips_chi_and_northern_irish_numbers_in_their_shares():
    rng = random.Random(5)
    kinds = Counter("slip" if _refused(n) else "scotland" if nhs_number.REGION_SCOTLAND.contains_number(n)
                    else "northern_ireland"
                    for n in (invalid_nhs_number("4010232137", date(2015, 3, 14), rng) for _ in range(3000)))
    assert kinds.keys() == {"slip", "scotland", "northern_ireland"}
    assert 0.45 < kinds["slip"] / 3000 < 0.55 and 0.25 < kinds["scotland"] / 3000 < 0.35


def test_every_nickname_used_is_one_search_and_matching_map_back_to_the_full_name():
    pools = build_pools(1)
    offered = 0
    for full in set(pools.boys) | set(pools.girls):
        for nickname in nickname_choices(full):
            assert normalise_name(full) in name_roots(normalise_name(nickname)), (full, nickname)
            offered += 1
    assert offered > 100
    assert "Ollie" in nickname_choices("Oliver") and "Izzy" in nickname_choices("Isabella")
    assert nickname_choices("Harry") == ()  # already a diminutive


def test_accents_are_dropped_the_way_ascii_only_systems_drop_them():
    assert strip_accents("Zoë") == "Zoe" and strip_accents("Éloïse") == "Eloise"
    assert all(strip_accents(n) != n for n in ACCENTED_BOYS + ACCENTED_GIRLS)


def test_rates_outside_zero_to_one_are_refused():
    with pytest.raises(ValueError, match="twins"):
        MessRates(twins=1.5)
    with pytest.raises(ValueError, match="missing_postcode, postcode_typo"):  # one draw shares them out
        MessRates(missing_postcode=0.6, postcode_typo=0.6)


def test_rates_without_bad_values_keep_the_rest_of_the_mess():
    clean = MessRates().without_bad_values()
    bad = {"invalid_nhs_number_gp", "invalid_nhs_number_social_care", "missing_date_of_birth",
           "missing_date_of_birth_social_care", "impossible_date_of_birth", "missing_given_name"}
    assert all(getattr(clean, kind) == 0.0 for kind in bad)
    assert {k: v for k, v in vars(clean).items() if k not in bad} \
        == {k: v for k, v in vars(MessRates()).items() if k not in bad}


@given(st.floats(min_value=0.0, max_value=50.0))
def test_messier_rates_scale_a_sources_mistakes_and_leave_the_population_alone(factor):
    default, messier = MessRates(), MessRates().messier(factor)  # MessRates refuses rates a draw cannot share out
    for kind, value in vars(messier).items():
        if kind not in SOURCE_MISTAKES:
            assert value == getattr(default, kind), kind  # twins, moves, nicknames in schools: as they were
        elif factor <= 1:
            assert value == pytest.approx(getattr(default, kind) * factor), kind
        else:  # more often, never less often than by default, and capped
            assert getattr(default, kind) <= value <= min(1.0, getattr(default, kind) * factor) + 1e-12, kind


def test_twice_as_messy_is_twice_each_mistake_where_that_fits():
    twice = MessRates().messier(2)
    assert twice.given_name_typo == 0.04 and twice.postcode_typo == 0.04 and twice.duplicate_in_source == 0.02
    assert twice.missing_nhs_number_social_care == 0.70 and twice.stale_address == 0.60
    assert twice.twins == MessRates().twins and twice.nickname_school == MessRates().nickname_school
    assert MessRates().messier(1) == MessRates()
    with pytest.raises(ValueError, match="negative"):
        MessRates().messier(-1)


# -- each kind of mess at about its rate ---------------------------------------------------------------------


def _close(value: str, forms: set[str]) -> bool:
    return any(value == f or OSA.distance(value.lower(), f.lower()) <= 1 for f in forms)


def _given_forms(child) -> set[str]:
    return {child.given, strip_accents(child.given), *nickname_choices(child.given)}


def _family_forms(child) -> set[str]:
    forms = {child.family, child.former_family, strip_accents(child.family)} - {""}
    for family in list(forms):
        if "-" in family:
            first, second = family.split("-", 1)
            forms |= {first, second, f"{first} {second}"}
    return forms


def _unswapped(row, child) -> tuple[str, str, bool]:
    given, family = row["given_name"], row["family_name"]
    if not _close(given, _given_forms(child)) and _close(family, _given_forms(child)) \
            and _close(given, _family_forms(child)):
        return family, given, True
    return given, family, False


def _assert_about(observed: int, trials: int, rate: float, kind: str) -> None:
    """Within four standard deviations of the expected count (the run is seeded, so this never flakes; the
    band says the rate is right, not just non-zero)."""
    expected = trials * rate
    band = 4 * math.sqrt(trials * rate * (1 - rate)) + 2
    assert abs(observed - expected) <= band, f"{kind}: {observed} in {trials}, expected about {expected:.1f}"
    assert observed > 0, kind


def test_each_kind_of_mess_appears_at_about_its_rate(run):
    seen: dict[str, list[int]] = defaultdict(lambda: [0, 0])  # kind -> [events, trials]

    def count(kind: str, happened: bool) -> None:
        seen[kind][0] += happened
        seen[kind][1] += 1

    for source, row, child, household in run.rows_with_people():
        given, family, swapped = _unswapped(row, child)
        count("names_swapped", swapped)
        accented = child.given != strip_accents(child.given)
        exact_given = {child.given, strip_accents(child.given), *nickname_choices(child.given)}
        count("given_name_typo", given not in exact_given and _close(given, exact_given))
        if "-" not in child.family and not child.former_family:
            exact_family = {child.family, strip_accents(child.family)}
            count("family_name_typo", family not in exact_family and _close(family, exact_family))
        if nickname_choices(child.given) and source.startswith("school-census"):
            nicknames = set(nickname_choices(child.given))  # ('Sophie' is one edit from 'Sophia')
            count("nickname_school", given in nicknames
                  or (_close(given, nicknames) and not _close(given, {child.given})))
        if accented:
            stripped = strip_accents(child.given)
            count("accents_dropped", given == stripped
                  or (_close(given, {stripped}) and not _close(given, {child.given})))
        if swap_day_month(child.dob) and swap_day_month(child.dob) <= run.today:
            count("dob_day_month_swapped", row["date_of_birth"] == swap_day_month(child.dob).isoformat())
        count("gender_not_specified", row["gender"] == "not specified")
        if source == "gp-registrations":
            count("missing_nhs_number_gp", not row["nhs_number"])
        if source.startswith("school-census") and child.upn:
            count("missing_upn_school", not row["upn"])
        if source.startswith("la-social-care"):
            count("whereabouts_not_current", row["whereabouts"] != "current")
            count("missing_nhs_number_social_care", not row["nhs_number"])
        if source.startswith("school-census") and child.uln:
            count("missing_uln_14_plus", not row["uln"])
        same_la = not source[-1].isdigit() or source.endswith(household.la_code)
        if household.previous_address and household.moved_on > child.dob and same_la and row["postcode"] \
                and household.previous_address.postcode != household.address.postcode:
            count("stale_address", row["postcode"] == household.previous_address.postcode)
        if child.former_family and "-" not in child.family:
            count("new_surname_shown", _close(family, {child.family}))

    for household in run.households:
        count("house_move", household.moved_on is not None)
        if household.moved_on:
            count("move_between_las", household.moved_between_las)
        count("double_barrelled", any("-" in c.family or "-" in c.former_family for c in household.children))
        for child in household.children:
            count("twins", child.twin)
            count("accented_given_name", child.given != strip_accents(child.given))

    for kind, (events, trials) in sorted(seen.items()):
        rate = getattr(RATES, kind)
        if kind == "twins":  # a birth of twins is two children, one of them marked as the twin
            rate = RATES.twins / (1 + RATES.twins)
        _assert_about(events, trials, rate, kind)
        print(f"{kind}: {events}/{trials} = {events / trials:.4f} (rate {rate})")
    assert len(seen) == 19


def _one_digit_typo(text: str, child) -> bool:
    try:
        typed = date.fromisoformat(text)
    except ValueError:
        return False
    return typed != child.dob and typed != swap_day_month(child.dob) \
        and sum(a != b for a, b in zip(_digits(typed), _digits(child.dob), strict=True)) == 1


def test_each_kind_of_bad_value_typo_and_duplicate_appears_at_about_its_rate(larger_run):
    """The kinds the matching misses most when an identifier is missing (issue 15), and the values a validator
    refuses, each measured against the truth on a few thousand children."""
    run = larger_run
    seen: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    rows_of: Counter[tuple[str, str]] = Counter()  # (source, person) -> rows

    def count(kind: str, happened: bool) -> None:
        seen[kind][0] += happened
        seen[kind][1] += 1

    for source, row, child, household in run.rows_with_people():
        rows_of[source, child.person_id] += 1
        social = source.startswith("la-social-care")
        dob = row["date_of_birth"]
        count("missing_date_of_birth_social_care" if social else "missing_date_of_birth", not dob)
        count("impossible_date_of_birth", bool(dob) and not _is_date(dob))
        count("dob_typo", _one_digit_typo(dob, child))
        if dob_slip(child.dob, random.Random(0), latest=run.today) is not None:
            count("dob_slip", _is_date(dob) and date.fromisoformat(dob) != child.dob
                  and sum(a != b for a, b in zip(dob.replace("-", ""), _digits(child.dob), strict=True)) == 2
                  and date.fromisoformat(dob) != swap_day_month(child.dob))
        count("missing_given_name", not row["given_name"])
        if row["address_line_1"]:  # a row with an address (not 'no known address')
            own = {household.address.postcode} | ({household.previous_address.postcode}
                                                   if household.previous_address else set())
            count("postcode_typo", bool(row["postcode"]) and row["postcode"] not in own)
        if source == "gp-registrations":
            count("invalid_nhs_number_gp", row["nhs_number"] not in ("", child.nhs_number))
        if social:
            count("invalid_nhs_number_social_care", row["nhs_number"] not in ("", child.nhs_number))

    # Duplicates, per child per source: only a child's row in its own LA's census or social care can be sent
    # twice (the rows an LA the family left still holds are a different source, and never doubled).
    people = run.children
    for (source, person), rows in rows_of.items():
        assert rows <= 2, (source, person)
        household = people[person][1]
        if source[-1].isdigit() and not source.endswith(household.la_code):
            assert rows == 1
            continue
        count("duplicate_in_social_care" if source.startswith("la-social-care") else "duplicate_in_source",
              rows == 2)

    for kind, (events, trials) in sorted(seen.items()):
        _assert_about(events, trials, getattr(RATES, kind), kind)
        print(f"{kind}: {events}/{trials} = {events / trials:.4f} (rate {getattr(RATES, kind)})")
    assert len(seen) == 11


def _is_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def test_a_child_sent_twice_is_two_records_of_one_person_each_with_its_own_mess(larger_run):
    run = larger_run
    copies: dict[tuple[str, str], list[dict[str, str]]] = defaultdict(list)
    for source, row, child, _ in run.rows_with_people():
        copies[source, child.person_id].append(row)
    twice = {key: rows for key, rows in copies.items() if len(rows) == 2}
    assert {source.split("-")[0] for source, _ in twice} == {"gp", "child", "school", "la"}
    for first, second in twice.values():
        assert first["source_record_id"] != second["source_record_id"]
    # The second copy is seen afresh: its mess is its own, so some copies differ from the first.
    assert sum(first != {**second, "source_record_id": first["source_record_id"]}
               for first, second in twice.values()) > 0.5 * len(twice)
    # And it comes later in the file than the first, as a re-registration would.
    for source, rows in run.feeds.items():
        position = {row["source_record_id"]: n for n, row in enumerate(rows)}
        for (copy_source, _), (first, second) in twice.items():
            if copy_source == source:
                assert position[first["source_record_id"]] < position[second["source_record_id"]]
