"""Date arithmetic for synthetic children: ages, school years, and random days never in the future."""

from __future__ import annotations

import random
from datetime import date, timedelta

from contactpoint.synthetic.rand import between


def years_before(day: date, years: int) -> date:
    """The same calendar day ``years`` earlier (29 February becomes 28 February)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def earliest_child_dob(today: date) -> date:
    """The earliest date of birth of someone still under 18 on ``today``."""
    return years_before(today, 18) + timedelta(days=1)


def age_on(dob: date, day: date) -> int:
    return day.year - dob.year - ((day.month, day.day) < (dob.month, dob.day))


def academic_year(today: date) -> int:
    """The calendar year in which the current school year began (September)."""
    return today.year if today.month >= 9 else today.year - 1


def school_age(dob: date, today: date) -> int:
    """Age on 31 August before the school year began: 4 is Reception, 11 is Year 7, 17 is Year 13."""
    return age_on(dob, date(academic_year(today), 8, 31))


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
