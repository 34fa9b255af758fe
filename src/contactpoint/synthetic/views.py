"""How one source system sees a child: the true values with that source's share of the mess applied.

Every draw here comes from the rows RNG (``"<seed>:rows"``), never the population's, so the population stays
the same whatever the sources do, and tests can compare each row with the truth it came from.
"""

from __future__ import annotations

import random
from datetime import date

from contactpoint.synthetic.dates import earliest_child_dob
from contactpoint.synthetic.mess import (
    MessRates,
    dob_slip,
    dob_typo,
    has_accents,
    impossible_date,
    invalid_nhs_number,
    nickname_choices,
    one_part_of,
    postcode_typo,
    strip_accents,
    swap_day_month,
    typo,
)
from contactpoint.synthetic.population import Carer, Child, Household
from contactpoint.synthetic.postcodes import Address
from contactpoint.synthetic.rand import pick

Row = dict[str, object]  # column -> value; None and missing columns are written empty, dates as YYYY-MM-DD


class Viewer:
    def __init__(self, rng: random.Random, rates: MessRates, today: date) -> None:
        self.rng, self.rates, self.today = rng, rates, today
        self._earliest = earliest_child_dob(today)

    def names(self, child: Child, nickname_rate: float, middle_rate: float) -> Row:
        rng, rates = self.rng, self.rates
        given, family, former = child.given, child.family, ""
        if child.former_family:
            if rng.random() < rates.new_surname_shown:
                if rng.random() < rates.former_name_recorded:
                    former = child.former_family
            else:
                family = child.former_family
        if "-" in family and rng.random() < rates.double_barrel_one_part:
            family = one_part_of(family, rng)
        nicknames = nickname_choices(given)
        if nicknames and rng.random() < nickname_rate:
            given = pick(rng, nicknames)
        middle = child.middle if rng.random() < middle_rate else ""
        if (has_accents(given) or has_accents(family)) and rng.random() < rates.accents_dropped:
            given, family, middle = strip_accents(given), strip_accents(family), strip_accents(middle)
        if rng.random() < rates.given_name_typo:
            given = typo(given, rng)
        if rng.random() < rates.family_name_typo:
            family = typo(family, rng)
        if rng.random() < rates.names_swapped:
            given, family = family, given
        if rng.random() < rates.missing_given_name:
            given = ""
        return {"given_name": given, "middle_names": middle, "family_name": family,
                "former_family_names": former}

    def date_of_birth(self, child: Child, not_after: date | None = None,
                      missing_rate: float | None = None) -> date | str | None:
        """The date of birth; sometimes missing (None), no real date (a string such as '2019-02-30'), with
        day and month swapped, or with one digit mistyped. Never swapped or mistyped to a date in the future,
        one making the child an adult, or one after ``not_after`` (the first event the row records, such as
        a GP registration): sources validate that much. ``missing_rate``: the source's own, if not
        ``missing_date_of_birth``. One draw decides which, if any, so the kinds never overlap."""
        rng, rates = self.rng, self.rates
        r = rng.random()
        missing = rates.missing_date_of_birth if missing_rate is None else missing_rate
        if r < missing:
            return None
        r -= missing
        if r < rates.impossible_date_of_birth:
            return impossible_date(child.dob, rng)
        r -= rates.impossible_date_of_birth
        if r < rates.dob_day_month_swapped + rates.dob_typo + rates.dob_slip:
            latest = min(not_after or self.today, self.today)
            if r < rates.dob_day_month_swapped:
                changed = swap_day_month(child.dob)
            elif r < rates.dob_day_month_swapped + rates.dob_typo:
                changed = dob_typo(child.dob, rng, self._earliest, latest)
            else:
                changed = dob_slip(child.dob, rng, self._earliest, latest)
            if changed and self._earliest <= changed <= latest:
                return changed
        return child.dob

    def gender(self, child: Child) -> str:
        return "not specified" if self.rng.random() < self.rates.gender_not_specified else child.gender

    def person(self, child: Child, nickname_rate: float, middle_rate: float,
               born_by: date | None = None, missing_dob_rate: float | None = None) -> Row:
        """Names, gender and date of birth, as this source holds them (``born_by`` and ``missing_dob_rate``:
        see ``date_of_birth``)."""
        row = self.names(child, nickname_rate, middle_rate)
        row["gender"] = self.gender(child)
        row["date_of_birth"] = self.date_of_birth(child, born_by, missing_dob_rate)
        return row

    def address(self, household: Household, child: Child) -> Address:
        """The current address, or, for a family that moved after the child was born, sometimes the old one:
        sources learn of a move late or never."""
        previous, moved = household.previous_address, household.moved_on
        if previous and moved and moved > child.dob and self.rng.random() < self.rates.stale_address:
            return previous
        return household.address

    def address_fields(self, address: Address, one_line: bool = False) -> Row:
        line_1, line_2 = address.line_1, address.line_2
        if one_line and line_2:  # systems with one street line: 'Flat 3, 22 Fellows Road'
            line_1, line_2 = f"{line_1}, {line_2}", ""
        postcode, r = address.postcode, self.rng.random()
        if r < self.rates.missing_postcode:
            postcode = ""
        elif r < self.rates.missing_postcode + self.rates.postcode_typo:
            postcode = postcode_typo(postcode, self.rng)
        return {"address_line_1": line_1, "address_line_2": line_2, "town": address.town,
                "postcode": postcode}

    def carers(self, carers: list[Carer], limit: int = 2) -> Row:
        row: Row = {}
        for n, carer in enumerate(carers[:limit], start=1):
            row[f"carer_{n}_name"] = carer.name
            row[f"carer_{n}_relationship"] = carer.relationship
            row[f"carer_{n}_parental_responsibility"] = "yes" if carer.parental_responsibility else "no"
            row[f"carer_{n}_phone"] = carer.phone
        return row

    def maybe(self, value: str, missing_rate: float) -> str:
        return "" if self.rng.random() < missing_rate else value

    def nhs_number(self, child: Child, missing_rate: float, invalid_rate: float) -> str:
        """The child's NHS number; or none; or one England cannot use (see ``mess.invalid_nhs_number``)."""
        r = self.rng.random()
        if r < missing_rate:
            return ""
        if r < missing_rate + invalid_rate:
            return invalid_nhs_number(child.nhs_number, child.dob, self.rng)
        return child.nhs_number
