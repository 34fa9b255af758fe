"""The mess real feeds carry, at documented default rates (docs/synthetic-data.md).

Matching and search are only as good as the mess they were tested on: typos, nicknames, swapped names and
dates, lost accents, stale addresses, surname changes, and twins who must never be merged. Each kind has a
rate in ``MessRates``; each transformation is a small pure function of its input and an RNG, so tests can
check it in isolation (a typo is exactly one edit away).
"""

from __future__ import annotations

import random
import string
import unicodedata
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from contactpoint.names import UK_NICKNAMES, name_roots, nicknames_of, normalise_name


@dataclass(frozen=True)
class MessRates:
    """Probabilities of each kind of mess. 'Per row' rates apply to each source row independently; 'per
    household' and 'per child' rates shape the population itself (and so every source sees them)."""

    # Names, per row.
    given_name_typo: float = 0.02
    family_name_typo: float = 0.015
    names_swapped: float = 0.005  # given and family name exchanged
    nickname_school: float = 0.30  # of school census rows whose child's given name has a nickname
    nickname_social_care: float = 0.15
    nickname_other: float = 0.01  # GP and child benefit rows: registered names, rarely a nickname
    accents_dropped: float = 0.40  # of rows for a child with an accented name (systems that cannot store it)
    double_barrel_one_part: float = 0.15  # of rows for a double-barrelled surname: only one part kept
    # Dates and gender, per row.
    dob_day_month_swapped: float = 0.01  # of rows whose date of birth can swap (day <= 12, day != month)
    gender_not_specified: float = 0.002
    # Identifiers and addresses, per row.
    missing_nhs_number_gp: float = 0.01
    missing_nhs_number_social_care: float = 0.35
    missing_upn_school: float = 0.03
    missing_upn_social_care: float = 0.70
    missing_uln_14_plus: float = 0.35
    missing_postcode: float = 0.005
    stale_address: float = 0.30  # of rows for a child whose family moved: the source has the old address
    # Surname changes: per household, then per row.
    surname_change: float = 0.02
    new_surname_shown: float = 0.60  # of rows for such a child: the new surname (else the old one)
    former_name_recorded: float = 0.50  # of rows showing the new surname: former_family_names filled
    # The population, per household or per child.
    house_move: float = 0.12  # household moved within the last three years
    move_between_las: float = 0.30  # of moves, when several LAs are generated: from another of them
    twins: float = 0.015  # per birth
    double_barrelled: float = 0.04  # per household
    accented_given_name: float = 0.02  # per child
    accented_family_name: float = 0.01  # per household
    # Social care whereabouts other than 'current', per social care row.
    whereabouts_not_current: float = 0.05

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"mess rate {name} must be between 0 and 1")


def _letter_like(original: str, rng: random.Random) -> str:
    """A letter different from ``original`` (ignoring case and accents), in the same case."""
    base = strip_accents(original).lower()
    letter = rng.choice(string.ascii_lowercase.replace(base, "") if base in string.ascii_lowercase
                        else string.ascii_lowercase)
    return letter.upper() if original.isupper() else letter


def _same_case(letter: str, like: str) -> str:
    return letter.upper() if like.isupper() else letter.lower()


def typo(name: str, rng: random.Random) -> str:
    """One keying error: insert, delete or substitute a letter, or transpose two adjacent different letters.

    Only letters are touched (deleting a hyphen or apostrophe would not change the name as matching sees it),
    and the result always differs from the input."""
    letters = [i for i, ch in enumerate(name) if ch.isalpha()]
    pairs = [i for i in letters[:-1] if i + 1 in letters and name[i].lower() != name[i + 1].lower()]
    kinds = ["insert", "substitute"]
    kinds += (["delete"] if len(letters) > 1 else []) + (["transpose"] if pairs else [])
    kind = rng.choice(kinds)
    if kind == "transpose":
        i = rng.choice(pairs)
        # The letters move, the capitals stay where they were: 'Oliver' -> 'Loiver', not 'lOiver'.
        a, b = _same_case(name[i + 1], name[i]), _same_case(name[i], name[i + 1])
        return name[:i] + a + b + name[i + 2:]
    if kind == "delete":
        i = rng.choice(letters)
        rest = name[i + 1:]
        if name[i].isupper() and rest[:1].isalpha():  # 'Smith' -> 'Mith', not 'mith'
            rest = rest[0].upper() + rest[1:]
        return name[:i] + rest
    if kind == "substitute" and letters:
        i = rng.choice(letters)
        return name[:i] + _letter_like(name[i], rng) + name[i + 1:]
    # Insert after the first character and never just before a capital, so capitals still start each part.
    i = rng.choice([i for i in range(1, len(name) + 1) if not name[i:i + 1].isupper()])
    return name[:i] + rng.choice(string.ascii_lowercase) + name[i:]


@lru_cache(maxsize=4096)
def nickname_choices(given: str) -> tuple[str, ...]:
    """Nicknames a school or practitioner would plausibly use for ``given``.

    Only nicknames that ``contactpoint.names.name_roots`` maps back to the full name are offered,
    so search and matching can always undo them. Our own UK list comes first; the ``nicknames`` package's
    list is long and US-centred ('Isabella' -> 'Nib'), so only its first two are taken, and only where ours
    has nothing."""
    if given.lower() in UK_NICKNAMES:  # 'Harry', 'Alfie', 'Millie' are already what they are called
        return ()
    full = normalise_name(given)
    understood = [n for n in nicknames_of(given)
                  if n.lower() != given.lower() and full in name_roots(normalise_name(n))]
    ours = [n for n in understood if n in UK_NICKNAMES]
    chosen = ours or [n for n in understood if len(n) >= 3][:2]
    return tuple(n.title() for n in chosen)


@lru_cache(maxsize=65536)
def strip_accents(text: str) -> str:
    """'Zoë' -> 'Zoe', as a system limited to ASCII stores it."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def has_accents(text: str) -> bool:
    return strip_accents(text) != text


def swap_day_month(dob: date) -> date | None:
    """The date with day and month exchanged (an American-format slip), or None where that is impossible
    or changes nothing (day > 12, or day == month)."""
    if dob.day > 12 or dob.day == dob.month:
        return None
    return date(dob.year, dob.day, dob.month)


def one_part_of(double_barrelled: str, rng: random.Random) -> str:
    """'Smith-Jones' as a system with one surname field often holds it: 'Smith', 'Jones' or 'Smith Jones'."""
    first, second = double_barrelled.split("-", 1)
    return rng.choice((first, second, f"{first} {second}"))
