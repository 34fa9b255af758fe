"""Date arithmetic, in one place for every stage: birthdays and ages (as English law counts them), the coarse
months the lifecycle stores in clear, and school years.

Plain functions of dates, no clock: callers pass "today"."""

from __future__ import annotations

from datetime import date, timedelta


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


# Compulsory school age in England (issue 19, children missing education). Education Act 1996 s.8 with the
# Education (Start of Compulsory School Age) Order 1998: a child is of compulsory school age from the
# "prescribed day" (31 March, 31 August or 31 December) on or after the fifth birthday - the start of the term
# after it; with the Education (School Leaving Date) Order 1997: until the last Friday in June of the school
# year (1 September to 31 August) in which the child turns 16.
PRESCRIBED_DAYS = ((3, 31), (8, 31), (12, 31))


def compulsory_school_age_starts(date_of_birth: date) -> date:
    """The first day of compulsory school age: the prescribed day on or after the fifth birthday."""
    fifth = anniversary(date_of_birth, 5)
    return next(d for m, n in PRESCRIBED_DAYS if (d := date(fifth.year, m, n)) >= fifth)


def compulsory_school_age_ends(date_of_birth: date) -> date:
    """The last day of compulsory school age: the last Friday in June of the school year the child turns 16."""
    sixteenth = anniversary(date_of_birth, 16)
    last = date(sixteenth.year + (1 if sixteenth.month >= 9 else 0), 6, 30)
    return last - timedelta(days=(last.weekday() - 4) % 7)  # weekday 4 is Friday


def of_compulsory_school_age(date_of_birth: date, today: date) -> bool:
    return compulsory_school_age_starts(date_of_birth) <= today <= compulsory_school_age_ends(date_of_birth)
