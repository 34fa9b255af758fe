"""Dates for synthetic children: random days never in the future, and when a child's phase of school began.
The arithmetic itself (ages, school years) is ``contactpoint.dates``."""

from __future__ import annotations

import random
from datetime import date, timedelta

from contactpoint.dates import academic_year, school_age, years_before
from contactpoint.synthetic.rand import between


def earliest_child_dob(today: date) -> date:
    """The earliest date of birth of someone still under 18 on ``today``."""
    return years_before(today, 18) + timedelta(days=1)


def day_between(rng: random.Random, first: date, last: date) -> date:
    """A uniformly random day from ``first`` to ``last`` inclusive (``first`` if the range is empty)."""
    span = (last - first).days
    return first if span <= 0 else first + timedelta(days=between(rng, 0, span))


def school_start(rng: random.Random, year: int, today: date) -> date:
    """The first days of September of ``year``, never after ``today``."""
    return min(date(year, 9, between(rng, 1, 7)), today)


def phase_start_year(dob: date, today: date) -> int | None:
    """The year the child started their current phase of school (Reception, or Year 7), or None if not of
    school age."""
    age = school_age(dob, today)
    if not 4 <= age <= 17:
        return None
    return academic_year(today) - (age - 4 if age <= 10 else age - 11)
