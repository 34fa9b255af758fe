"""England's compulsory school age (Education Act 1996 s.8 and the 1997 and 1998 Orders): the rule the children
missing education list uses, on fixed dates."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contactpoint.dates import (
    compulsory_school_age_ends,
    compulsory_school_age_starts,
    of_compulsory_school_age,
)


@pytest.mark.parametrize("born,starts", [
    (date(2016, 1, 15), date(2021, 3, 31)),  # fifth birthday in the spring term: from the summer term
    (date(2016, 4, 1), date(2021, 8, 31)),  # in the summer term: from the autumn term
    (date(2016, 9, 10), date(2021, 12, 31)),  # in the autumn term: from the spring term
    (date(2016, 3, 31), date(2021, 3, 31)),  # on a prescribed day: that day
    (date(2016, 2, 29), date(2021, 3, 31)),  # fifth birthday 1 March 2021
])
def test_compulsory_school_age_starts_the_term_after_the_fifth_birthday(born, starts):
    assert compulsory_school_age_starts(born) == starts


@pytest.mark.parametrize("born,ends", [
    (date(2008, 9, 1), date(2025, 6, 27)),  # turns 16 on 1 September 2024: the 2024-25 school year
    (date(2009, 8, 31), date(2025, 6, 27)),  # the youngest of the same year group
    (date(2009, 9, 1), date(2026, 6, 26)),
    (date(2010, 1, 2), date(2026, 6, 26)),
])
def test_compulsory_school_age_ends_the_last_friday_of_june_of_the_year_they_turn_16(born, ends):
    assert compulsory_school_age_ends(born) == ends


@given(st.dates(min_value=date(1990, 1, 1), max_value=date(2040, 12, 31)))
def test_the_span_is_always_from_after_the_fifth_birthday_to_a_friday_in_june_after_the_fifteenth(born):
    start, end = compulsory_school_age_starts(born), compulsory_school_age_ends(born)
    assert start - born >= timedelta(days=5 * 365) and (start.month, start.day) in ((3, 31), (8, 31), (12, 31))
    assert end.weekday() == 4 and end.month == 6 and end.day > 23
    assert of_compulsory_school_age(born, start) and of_compulsory_school_age(born, end)
    assert not of_compulsory_school_age(born, start - timedelta(days=1))
    assert not of_compulsory_school_age(born, end + timedelta(days=1))
