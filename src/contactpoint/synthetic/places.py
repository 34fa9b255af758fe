"""Schools and GP practices of each generated local authority.

Sized from the number of children the LA will hold (about 300 pupils per primary, 1,000 per secondary, 2,000
registered children per GP practice), so a family's children share a school and a practice as they would.
URNs and practice codes are unique across the run; establishment numbers are unique within their LA, as the
DfE issues them (2xxx primary, 4xxx secondary), which keeps every UPN unique.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from contactpoint.reference import local_authority
from contactpoint.synthetic.ids import Permutation
from contactpoint.synthetic.pools import SAINTS, NamePools
from contactpoint.synthetic.postcodes import districts

PUPILS_PER_PRIMARY = 300
PUPILS_PER_SECONDARY = 1000
CHILDREN_PER_PRACTICE = 2000
_PHASE_YEARS = 7  # Reception-Year 6, and Year 7-Year 13
_MAX_PER_PHASE = 1999  # establishment numbers 2000-3998 (primary) and 4000-5998 (secondary)

# The first letter of a GP practice code follows the NHS region that issued it.
_PRACTICE_LETTER = {
    "London": "F", "South East": "H", "South West": "L", "East of England": "D", "East Midlands": "C",
    "West Midlands": "M", "North West": "P", "North East": "A", "Yorkshire and the Humber": "B",
}


@dataclass(frozen=True, slots=True)
class School:
    urn: str
    establishment: int
    name: str
    la_code: str


@dataclass(frozen=True, slots=True)
class Practice:
    code: str
    name: str
    la_code: str


@dataclass(frozen=True, slots=True)
class LocalPlaces:
    la_code: str
    primaries: tuple[School, ...]
    secondaries: tuple[School, ...]
    practices: tuple[Practice, ...]

    def share(self, chunk: int, chunks: int) -> LocalPlaces:
        """The schools that chunk ``chunk`` of ``chunks`` owns (every ``chunks``th); practices are shared, as
        nothing is counted per practice."""
        if chunks == 1:
            return self
        return LocalPlaces(self.la_code, self.primaries[chunk::chunks], self.secondaries[chunk::chunks],
                           self.practices)


def _stem(street: str) -> str:
    """'Harrison Road' -> 'Harrison': schools and surgeries are named after places, not whole addresses."""
    return street.rsplit(" ", 1)[0]


def _primary_name(rng: random.Random, stem: str) -> str:
    r = rng.random()
    if r < 0.5:
        return f"{stem} Primary School"
    if r < 0.65:
        return f"{stem} Primary Academy"
    if r < 0.85:
        return f"St {rng.choice(SAINTS)}'s C of E Primary School"
    return f"St {rng.choice(SAINTS)}'s Catholic Primary School"


def _secondary_name(rng: random.Random, stem: str, town: str) -> str:
    return rng.choice((f"{stem} School", f"{stem} Academy", f"{stem} High School", f"{town} {stem} School",
                       f"St {rng.choice(SAINTS)}'s Catholic High School"))


def _practice_name(rng: random.Random, stem: str) -> str:
    return rng.choice((f"{stem} Medical Centre", f"{stem} Surgery", f"The {stem} Practice",
                       f"{stem} Health Centre", f"{stem} Group Practice"))


def _unique_names(count: int, make) -> list[str]:
    """``count`` distinct names from ``make``; once the pool stops giving new ones, duplicates get a number
    (a big LA has more schools than there are street names to call them after)."""
    names: list[str] = []
    seen: set[str] = set()
    misses = 0
    while len(names) < count:
        name = make()
        if name in seen:
            misses += 1
            if misses < 50:
                continue
            name = f"{name} {len(names) + 1}"
        misses = 0
        seen.add(name)
        names.append(name)
    return names


class PlaceBuilder:
    """Builds each LA's places; holds the run-wide permutations that keep URNs and practice codes unique."""

    def __init__(self, pools: NamePools, rng: random.Random) -> None:
        self._pools = pools
        self._rng = rng
        self._urns = Permutation(900_000, rng)
        self._practice_numbers = Permutation(100_000, rng)
        self._schools_made = 0
        self._practices_made = 0

    def build(self, la_code: str, expected_children: int, at_least: int = 1) -> LocalPlaces:
        """The LA's places, with ``at_least`` schools of each phase (one per chunk of the run)."""
        rng = self._rng
        per_phase = expected_children * _PHASE_YEARS / 18
        n_primary = max(at_least, min(_MAX_PER_PHASE, round(per_phase / PUPILS_PER_PRIMARY)))
        n_secondary = max(at_least, min(_MAX_PER_PHASE, round(per_phase / PUPILS_PER_SECONDARY)))
        n_practices = max(1, min(99_999, round(expected_children / CHILDREN_PER_PRACTICE)))
        town = districts(la_code)[0][1]

        def stem() -> str:
            street = rng.choice(self._pools.streets)
            # Mostly 'Harrison Primary School', sometimes the whole street ('Harrison Road Primary School').
            return _stem(street) if rng.random() < 0.7 else street

        primaries = [self._school(la_code, 2000 + i, name)
                     for i, name in enumerate(_unique_names(n_primary, lambda: _primary_name(rng, stem())))]
        secondaries = [self._school(la_code, 4000 + i, name)
                       for i, name in enumerate(_unique_names(n_secondary,
                                                              lambda: _secondary_name(rng, stem(), town)))]
        la = local_authority(la_code)
        letter = _PRACTICE_LETTER.get(la.region if la else "", "Y")
        practices = []
        for name in _unique_names(n_practices, lambda: _practice_name(rng, stem())):
            number = self._practice_numbers(self._practices_made)
            self._practices_made += 1
            practices.append(Practice(f"{letter}{number:05d}", name, la_code))
        return LocalPlaces(la_code, tuple(primaries), tuple(secondaries), tuple(practices))

    def build_for_bad_rows(self, la_code: str) -> LocalPlaces:
        """One school of each phase, numbered like special schools (7xxx), for the children of bad rows."""
        primary = self._school(la_code, 7000, "Synthetic Test Primary School")
        secondary = self._school(la_code, 7001, "Synthetic Test Secondary School")
        return LocalPlaces(la_code, (primary,), (secondary,), ())

    def _school(self, la_code: str, establishment: int, name: str) -> School:
        urn = 100_000 + self._urns(self._schools_made)
        self._schools_made += 1
        return School(str(urn), establishment, name, la_code)
