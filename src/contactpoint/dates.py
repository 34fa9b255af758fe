"""Date arithmetic, in one place for every stage: birthdays and ages (as English law counts them), the coarse
months the lifecycle stores in clear, and school years.

Plain functions of dates, no clock: callers pass "today"."""

from __future__ import annotations

from datetime import date


def anniversary(start: date, years: int) -> date:
    """``start`` plus whole years; 29 February becomes 1 March in a common year (a child born on
    29 February 2012 turns 18 on 1 March 2030, as in English law)."""
    try:
        return start.replace(year=start.year + years)
    except ValueError:
        return date(start.year + years, 3, 1)


def first_of_month(day: date) -> date:
    return day.replace(day=1)


def years_before(day: date, years: int) -> date:
    """The same calendar day ``years`` earlier (29 February becomes 28 February): the day after it is the
    earliest date of birth of someone still under ``years`` on ``day``."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def age_on(date_of_birth: date, day: date) -> int:
    years = day.year - date_of_birth.year
    if anniversary(date_of_birth, years) > day:
        years -= 1
    return years


def live_review_month(date_of_birth: date, *, until_age: int = 18, date_of_death: date | None = None) -> date:
    """The month in which a live record must next be looked at: the month of the birthday that ends it, or
    of the first anniversary of a notified death, whichever is first."""
    end = anniversary(date_of_birth, until_age)
    if date_of_death is not None:
        end = min(end, anniversary(date_of_death, 1))
    return first_of_month(end)


def live_until(date_of_birth: date, *, consent_to_25: bool = False, date_of_death: date | None = None) -> date:
    """The last day a record is live is the day before this: the 18th birthday (25th with consent under
    regulation 4(2)), or the first anniversary of a notified death, whichever comes first."""
    end = anniversary(date_of_birth, 25 if consent_to_25 else 18)
    if date_of_death is not None:
        end = min(end, anniversary(date_of_death, 1))
    return end


def academic_year(today: date) -> int:
    """The calendar year in which the current school year began (September)."""
    return today.year if today.month >= 9 else today.year - 1


def school_age(date_of_birth: date, today: date) -> int:
    """Age on 31 August before the school year began: 4 is Reception, 11 is Year 7, 17 is Year 13."""
    return age_on(date_of_birth, date(academic_year(today), 8, 31))
