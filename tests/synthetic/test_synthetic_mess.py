"""The mess: each transformation on its own, then each kind measured in a generated run against the truth."""

from __future__ import annotations

import math
import random
from collections import defaultdict
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rapidfuzz.distance import OSA

from contactpoint.names import name_roots, normalise_name
from contactpoint.synthetic.mess import (
    MessRates,
    nickname_choices,
    strip_accents,
    swap_day_month,
    typo,
)
from contactpoint.synthetic.pools import ACCENTED_BOYS, ACCENTED_GIRLS, build_pools

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
