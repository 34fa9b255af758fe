"""Identifiers for synthetic children: valid, unique and deterministic, without remembering what was issued.

Uniqueness comes from seeded affine permutations (``i -> (a*i + b) mod n`` with ``a`` coprime to ``n``): child
number ``i`` always gets the same number, no two children share one, and nothing is held in memory however
many millions are generated. Check digits come from the project's own validators' libraries, so whatever the
generator writes, ingest accepts (DESIGN.md section 3: don't hand-write checksums).
"""

from __future__ import annotations

import random
from math import gcd

import nhs_number

from contactpoint.children.identifiers import uln_check_digit, upn_check_letter


class Permutation:
    """A seeded bijection on ``range(size)``: distinct inputs give distinct, scattered outputs."""

    def __init__(self, size: int, rng: random.Random) -> None:
        self.size = size
        # A large multiplier spreads consecutive inputs across the whole range, so neighbouring children do
        # not get neighbouring numbers (which would make the answer key guessable from the feeds).
        while True:
            a = rng.randrange(size // 3, size)
            if gcd(a, size) == 1:
                break
        self._a = a
        self._b = rng.randrange(size)

    def __call__(self, i: int) -> int:
        if not 0 <= i < self.size:
            raise ValueError(f"permutation input {i} outside 0..{self.size - 1}")
        return (self._a * i + self._b) % self.size


def _prefix_ranges(region: nhs_number.Region) -> list[tuple[int, int]]:
    """The region's ranges as (first, count) of 8-digit prefixes (the body without its last digit)."""
    return [(r.start // 100, (r.end + 1) // 100 - r.start // 100) for r in region.ranges]


# Numbers from England's real ranges, as the brief asks, so they look like the numbers sources send. The NHS
# also reserves 999 for test patients; switching is one line (nhs_number.REGION_SYNTHETIC) if ever wanted.
NHS_REGION = nhs_number.REGION_ENGLAND


class NhsNumbers:
    """Child ``i``'s NHS number: a unique 8-digit prefix from the permutation, then the first last-body-digit
    (counting on from ``i mod 10``) whose modulus 11 check digit exists (one body in eleven has none)."""

    def __init__(self, rng: random.Random) -> None:
        self._ranges = _prefix_ranges(NHS_REGION)
        self._perm = Permutation(sum(count for _, count in self._ranges), rng)

    def __call__(self, i: int) -> str:
        k = self._perm(i)
        for first, count in self._ranges:
            if k < count:
                prefix = f"{first + k:08d}"
                break
            k -= count
        for step in range(10):
            body = prefix + str((i + step) % 10)
            check = nhs_number.calculate_checksum(body)
            if check != 10:
                return body + str(check)
        raise AssertionError("every 8-digit prefix has a valid ninth digit")  # 2*d mod 11 hits 10 values


def bad_nhs_number(valid: str) -> str:
    """The same number with a wrong check digit (for rows meant to be refused)."""
    return valid[:9] + str((int(valid[9]) + 3) % 10)


class Ulns:
    """Child ``i``'s Unique Learner Number: ten digits, not starting with 0, with the LRS check digit."""

    _FIRST, _COUNT = 10_000_000, 90_000_000  # 8-digit prefixes 10000000..99999999

    def __init__(self, rng: random.Random) -> None:
        self._perm = Permutation(self._COUNT, rng)

    def __call__(self, i: int) -> str:
        prefix = str(self._FIRST + self._perm(i))
        for step in range(10):
            first9 = prefix + str((i + step) % 10)
            check = uln_check_digit(first9)
            if check is not None:
                return first9 + str(check)
        raise AssertionError("every ULN prefix has a ninth digit with a check digit")


def upn(la_code: str, establishment: int, year: int, serial: int) -> str:
    """A Unique Pupil Number: check letter, then LA code of the issuing school, its establishment number, the
    2-digit year of issue and a 3-digit serial within that school and year."""
    if not 0 <= serial <= 999:
        raise ValueError("a UPN serial is 3 digits")
    body = f"{la_code}{establishment:04d}{year % 100:02d}{serial:03d}"
    return upn_check_letter(body) + body


class UpnSerials:
    """Hands out UPN serials per (LA, school, year): UPNs are unique because each triple counts up from 1."""

    def __init__(self) -> None:
        self._next: dict[tuple[str, int, int], int] = {}

    def issue(self, la_code: str, establishment: int, year: int) -> str:
        key = (la_code, establishment, year % 100)
        serial = self._next.get(key, 1)
        if serial > 999:
            raise OverflowError("more than 999 pupils issued UPNs by one school in one year")
        self._next[key] = serial + 1
        return upn(la_code, establishment, year, serial)
