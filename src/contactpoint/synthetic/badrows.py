"""Deliberately invalid rows, appended to a feed to demonstrate refusals (``--bad-rows N``).

Each is an otherwise ordinary row about a child who exists nowhere else, with one value broken the way real
feeds break it. Their record IDs are unique within the source, and they never appear in truth.csv: they are
not about anyone.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date, timedelta

from contactpoint.synthetic.ids import bad_nhs_number
from contactpoint.synthetic.rand import between, pick
from contactpoint.synthetic.views import Row

_UPN_LETTERS = "ABCDEFGHJKLMNPQRTUVWXYZ"


def _bad_nhs(row: Row, rng: random.Random, today: date, truth: dict[str, str]) -> None:
    row["nhs_number"] = bad_nhs_number(truth["nhs_number"])


def _impossible_date(row: Row, rng: random.Random, today: date, truth: dict[str, str]) -> None:
    row["date_of_birth"] = pick(rng, (f"{today.year - 3}-02-30", f"{today.year - 5}-13-05",
                                      f"{today.year - 9}-04-31", f"{today.year - 2}-00-12"))


def _future_dob(row: Row, rng: random.Random, today: date, truth: dict[str, str]) -> None:
    row["date_of_birth"] = today + timedelta(days=between(rng, 1, 365))


def _unknown_gender(row: Row, rng: random.Random, today: date, truth: dict[str, str]) -> None:
    # Not 'unknown', 'u' or 'x': a lenient validator may read those as 'not specified'.
    row["gender"] = pick(rng, ("boy", "girl", "M/F"))


def _invalid_postcode(row: Row, rng: random.Random, today: date, truth: dict[str, str]) -> None:
    # The real postcode with its last letter lost: 'NW1 6XE' -> 'NW1 6X'.
    row["postcode"] = truth["postcode"][:-1]


def _bad_upn(row: Row, rng: random.Random, today: date, truth: dict[str, str]) -> None:
    upn = truth["upn"]
    row["upn"] = pick(rng, _UPN_LETTERS.replace(upn[0], "")) + upn[1:]


def _bad_uln(row: Row, rng: random.Random, today: date, truth: dict[str, str]) -> None:
    uln = truth["uln"]
    row["uln"] = uln[:9] + str((int(uln[9]) + between(rng, 1, 9)) % 10)


Breakage = Callable[[Row, random.Random, date, dict[str, str]], None]
_COMMON: tuple[tuple[str, Breakage], ...] = (
    ("impossible_date", _impossible_date), ("future_date_of_birth", _future_dob),
    ("unknown_gender", _unknown_gender), ("invalid_postcode", _invalid_postcode),
)
# Per kind of source, the ways its rows are broken, taken in turn.
BREAKAGES: dict[str, tuple[tuple[str, Breakage], ...]] = {
    "gp": (("bad_nhs_check_digit", _bad_nhs), *_COMMON),
    "child_benefit": _COMMON,
    "school": (("bad_upn_check_letter", _bad_upn), ("bad_uln_check_digit", _bad_uln), *_COMMON),
    "social_care": (("bad_nhs_check_digit", _bad_nhs), ("bad_upn_check_letter", _bad_upn), *_COMMON),
}


def break_row(kind: str, n: int, row: Row, rng: random.Random, today: date, truth: dict[str, str]) -> str:
    """Break the ``n``th bad row of a source of this kind; returns the name of the breakage.

    ``truth`` holds the child's valid identifiers and postcode, so that each row carries exactly one fault
    (the identifier columns are filled even where the source would have left them empty)."""
    name, breakage = BREAKAGES[kind][n % len(BREAKAGES[kind])]
    breakage(row, rng, today, truth)
    return name
