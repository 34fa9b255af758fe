"""Date arithmetic for the lifecycle: birthdays and the coarse months stored in clear."""

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


def add_months(day: date, months: int) -> date:
    index = day.year * 12 + (day.month - 1) + months
    return date(index // 12, index % 12 + 1, 1)


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
