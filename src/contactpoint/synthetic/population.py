"""The synthetic population: households of children with their carers, addresses, schools and GP practices.

This is the truth that the feeds are messy views of. Each chunk draws it from its own RNG stream
(``"<seed>:people:<chunk>"``), so the same (children, seed, LAs, today, rates) always gives the same people,
whatever the sources then do with them; tests rebuild it to measure each kind of mess against the truth.

Households are generated one at a time and forgotten once their rows are written, so memory does not grow with
the number of children.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache
from typing import TypeVar

from contactpoint.dates import age_on, school_age, years_before
from contactpoint.reference import local_authority
from contactpoint.synthetic.dates import day_between, earliest_child_dob, phase_start_year, school_start
from contactpoint.synthetic.ids import UpnSerials
from contactpoint.synthetic.places import Practice, School
from contactpoint.synthetic.pools import ACCENTED_BOYS, ACCENTED_FAMILY, ACCENTED_GIRLS
from contactpoint.synthetic.postcodes import Address
from contactpoint.synthetic.rand import between, pick
from contactpoint.synthetic.world import World

# Births per household (children under 18 living together) and who looks after them. Rough shares for
# England; the point is variety (siblings, single parents, step-parents, kinship and foster care).
BIRTHS_PER_HOUSEHOLD = ((1, 0.45), (2, 0.37), (3, 0.13), (4, 0.04), (5, 0.01))
HOUSEHOLD_KINDS = (("two_parents", 0.58), ("mother", 0.24), ("father", 0.04), ("mother_stepfather", 0.06),
                   ("grandparents", 0.04), ("foster", 0.025), ("relative", 0.015))
DECEASED = 0.0002  # children whose death has been notified (only the GP feed carries it)
MOVE_WINDOW_YEARS = 3


def carer_phone(rng: random.Random, la_code: str) -> str:
    """A mobile or landline number from Ofcom's ranges reserved for drama, so no real person is ever rung."""
    r = rng.random()
    if r < 0.85:
        return f"07700 900{between(rng, 0, 999):03d}"
    return office_phone(rng, la_code) if r < 0.95 else ""


@cache
def _in_london(la_code: str) -> bool:
    la = local_authority(la_code)
    return la is not None and la.region == "London"


def office_phone(rng: random.Random, la_code: str) -> str:
    if _in_london(la_code):
        return f"020 7946 0{between(rng, 0, 999):03d}"
    return f"01632 960{between(rng, 0, 999):03d}"


T = TypeVar("T")


def _weighted(rng: random.Random, weighted: tuple[tuple[T, float], ...]) -> T:
    r = rng.random()
    for value, weight in weighted:
        r -= weight
        if r < 0:
            return value
    return weighted[-1][0]


@dataclass(slots=True)
class Carer:
    name: str
    relationship: str
    parental_responsibility: bool
    phone: str


@dataclass(slots=True)
class Child:
    index: int
    person_id: str
    given: str
    middle: str
    family: str
    former_family: str  # the surname before a change of name, "" if none
    gender: str
    dob: date
    nhs_number: str
    uln: str
    upn: str  # "" for children not yet of school age
    school: School | None
    setting_start: date | None
    twin: bool = False
    date_of_death: date | None = None


@dataclass(slots=True)
class Household:
    index: int  # the number of its first child: the same however the run is split into chunks
    la_code: str
    address: Address
    practice: Practice
    carers: list[Carer]
    kind: str
    children: list[Child] = field(default_factory=list)
    previous_address: Address | None = None  # before a move within MOVE_WINDOW_YEARS
    previous_practice: Practice | None = None
    moved_on: date | None = None
    # Schools in the LA the household left, for a move between generated LAs.
    previous_primary: School | None = None
    previous_secondary: School | None = None

    @property
    def moved_between_las(self) -> bool:
        return self.previous_address is not None and self.previous_address.la_code != self.la_code


class Population:
    """Creates the households of one chunk of a run (see ``world``), numbering children on from
    ``first_child``."""

    def __init__(self, world: World, chunk: int, first_child: int) -> None:
        self.world, self.chunk = world, chunk
        self.las, self.today, self.rates, self.pools = world.las, world.today, world.rates, world.pools
        self._rng = random.Random(f"{world.seed}:people:{chunk}")
        self._upns = UpnSerials()
        self._earliest = earliest_child_dob(world.today)
        self._next_child = first_child

    def households(self, stop: int) -> Iterator[Household]:
        """Households whose children are numbered up to ``stop`` (exclusive), in a fixed order."""
        while self._next_child < stop:
            yield self.household(limit=stop - self._next_child)

    def household(self, limit: int, la_code: str | None = None) -> Household:
        """One household of at most ``limit`` children, numbered on from the last child made."""
        rng, world = self._rng, self.world
        la = la_code or pick(rng, self.las)
        kind = str(_weighted(rng, HOUSEHOLD_KINDS))
        birth_family = self._family_name()
        carers, child_family = self._carers(kind, birth_family, la)
        household = Household(self._next_child, la, world.addresses[la].address(rng),
                              pick(rng, world.places[la].practices), carers, kind)
        self._maybe_moved(household)
        dobs = self._birth_dates(int(_weighted(rng, BIRTHS_PER_HOUSEHOLD)), limit)
        new_family, changed_on = self._maybe_new_surname(household, child_family, min(d for d, _ in dobs))
        schools = world.places_of(self.chunk, la)
        home_primary, home_secondary = pick(rng, schools.primaries), pick(rng, schools.secondaries)
        for dob, twin in dobs:
            child = self._child(household, dob, twin, child_family, home_primary, home_secondary)
            if new_family and changed_on:
                child.former_family = child.family if dob < changed_on else ""
                child.family = new_family
            household.children.append(child)
        return household

    # -- the parts of a household ----------------------------------------------------------------------------

    def _family_name(self) -> str:
        if self._rng.random() < self.rates.accented_family_name:
            return pick(self._rng, ACCENTED_FAMILY)
        return pick(self._rng, self.pools.family)

    def _adult(self, family: str, woman: bool) -> str:
        return f"{pick(self._rng, self.pools.women if woman else self.pools.men)} {family}"

    def _carers(self, kind: str, family: str, la: str) -> tuple[list[Carer], str]:
        """The household's carers, and the surname its children were born with."""
        rng = self._rng
        child_family = family
        other = self._family_name()
        if rng.random() < self.rates.double_barrelled:
            child_family = f"{other}-{family}"
        mother_family = other if child_family != family or rng.random() < 0.25 else family

        def carer(family_name: str, woman: bool, relationship: str, pr: bool) -> Carer:
            return Carer(self._adult(family_name, woman), relationship, pr, carer_phone(rng, la))

        match kind:
            case "two_parents":
                carers = [carer(mother_family, True, "mother", True), carer(family, False, "father", True)]
                if rng.random() < 0.15:
                    carers.reverse()
            case "mother":
                carers = [carer(mother_family, True, "mother", True)]
            case "father":
                carers = [carer(family, False, "father", True)]
            case "mother_stepfather":
                carers = [carer(mother_family, True, "mother", True),
                          carer(self._family_name(), False, "stepfather", False)]
            case "grandparents":
                pr = rng.random() < 0.5  # under a special guardianship or child arrangements order, or not
                carers = [carer(family, True, "grandmother", pr)]
                if rng.random() < 0.5:
                    carers.append(carer(family, False, "grandfather", pr))
            case "foster":
                foster_family = self._family_name()
                carers = [carer(foster_family, True, "foster carer", False)]
                if rng.random() < 0.6:
                    carers.append(carer(foster_family, False, "foster carer", False))
            case _:
                woman = rng.random() < 0.6
                carers = [carer(family if rng.random() < 0.5 else other, woman, "aunt" if woman else "uncle",
                                rng.random() < 0.3)]
        return carers, child_family

    def _maybe_moved(self, household: Household) -> None:
        """Perhaps move the household here within the last few years, from within its LA or from another."""
        rng = self._rng
        if rng.random() >= self.rates.house_move:
            return
        household.moved_on = day_between(rng, years_before(self.today, MOVE_WINDOW_YEARS), self.today)
        from_la = household.la_code
        others = [la for la in self.las if la != household.la_code]
        if others and rng.random() < self.rates.move_between_las:
            from_la = pick(rng, others)
        world = self.world
        household.previous_address = world.addresses[from_la].address(rng)
        practices = world.places[from_la].practices
        if from_la == household.la_code:
            # A move within the LA: most families keep their GP; the children keep their schools.
            household.previous_practice = household.practice if rng.random() < 0.6 else pick(rng, practices)
            return
        household.previous_practice = pick(rng, practices)
        schools = world.places_of(self.chunk, from_la)
        household.previous_primary = pick(rng, schools.primaries)
        household.previous_secondary = pick(rng, schools.secondaries)

    def _birth_dates(self, births: int, limit: int) -> list[tuple[date, bool]]:
        """Dates of birth of a family's children, spaced 15 months to 6 years apart, with twins (the second
        twin is flagged). Never more than ``limit``; fewer if the spacing runs out of childhood."""
        rng, rates = self._rng, self.rates
        out: list[tuple[date, bool]] = []
        for _ in range(births):
            if len(out) >= limit:
                break
            if not out:
                dob = day_between(rng, self._earliest, self.today)
            else:
                gap = timedelta(days=between(rng, 450, 2200))
                later, earlier = max(out)[0] + gap, min(out)[0] - gap
                if later <= self.today and (rng.random() < 0.5 or earlier < self._earliest):
                    dob = later
                elif earlier >= self._earliest:
                    dob = earlier
                else:
                    break
            out.append((dob, False))
            if len(out) < limit and rng.random() < rates.twins:
                out.append((dob, True))
        return out

    def _maybe_new_surname(self, household: Household, family: str, eldest: date) -> tuple[str, date | None]:
        rng = self._rng
        if rng.random() >= self.rates.surname_change:
            return "", None
        # A step-parent's surname, or a mother's new or maiden name.
        step = [c for c in household.carers if c.relationship == "stepfather"]
        new = step[0].name.split(" ", 1)[1] if step else self._family_name()
        if new == family:
            return "", None
        return new, day_between(rng, max(eldest, years_before(self.today, 5)), self.today)

    def _child(self, household: Household, dob: date, twin: bool, family: str, home_primary: School,
               home_secondary: School) -> Child:
        rng, rates = self._rng, self.rates
        gender = "male" if rng.random() < 0.5 else "female"
        names = self.pools.children(gender)
        taken = {c.given for c in household.children}
        given = pick(rng, names)
        while given in taken:  # twins and siblings have different given names
            given = pick(rng, names)
        if rng.random() < rates.accented_given_name:
            given = pick(rng, ACCENTED_BOYS if gender == "male" else ACCENTED_GIRLS)
        r = rng.random()
        middle = "" if r >= 0.73 else pick(rng, names) if r < 0.65 else \
            f"{pick(rng, names)} {pick(rng, names)}"
        index = self._next_child
        self._next_child += 1
        # Only learners of 14 and over have a ULN (and computing its check digit for everyone costs time).
        uln = self.world.ulns(index) if age_on(dob, self.today) >= 14 else ""
        child = Child(index, f"P{index + 1:08d}", given, middle, family, "", gender, dob,
                      self.world.nhs(index), uln, "", None, None, twin=twin)
        self._place_at_school(child, household, home_primary, home_secondary)
        if rng.random() < DECEASED:
            child.date_of_death = day_between(rng, max(dob, self.today - timedelta(days=365)), self.today)
        return child

    def _place_at_school(self, child: Child, household: Household, home_primary: School,
                         home_secondary: School) -> None:
        phase_start = phase_start_year(child.dob, self.today)
        if phase_start is None:
            return
        age = school_age(child.dob, self.today)
        reception = phase_start if age <= 10 else phase_start - 7
        moved, previous_primary = household.moved_on, household.previous_primary
        # The UPN is issued once, by the first school, and kept for life: a child who started school before
        # moving here from another LA carries a UPN of that LA.
        started_before_moving = moved and moved > date(reception, 9, 1)
        issuer = previous_primary if previous_primary and started_before_moving else home_primary
        child.upn = self._upns.issue(issuer.la_code, issuer.establishment, reception)
        child.school = home_primary if age <= 10 else home_secondary
        start = school_start(self._rng, phase_start, self.today)
        if previous_primary and moved and moved > start:  # joined this school after moving into the LA
            start = min(moved + timedelta(days=between(self._rng, 0, 20)), self.today)
        child.setting_start = start
