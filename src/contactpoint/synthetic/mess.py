"""The mess real feeds carry, at documented default rates (docs/synthetic-data.md).

Matching and search are only as good as the mess they were tested on: typos, nicknames, swapped names and
dates, lost accents, stale addresses, surname changes, mistyped postcodes and dates of birth, values a
validator refuses (a bad NHS number, an impossible date), missing values, a child sent twice by one source,
and twins who must never be merged. Each kind has a rate in ``MessRates``; each transformation is a small pure
function of its input and an RNG, so tests can check it in isolation (a typo is exactly one edit away).
"""

from __future__ import annotations

import calendar
import random
import re
import string
import unicodedata
from dataclasses import dataclass, replace
from datetime import date
from functools import lru_cache

import nhs_number

from contactpoint.names import UK_NICKNAMES, name_roots, nicknames_of, normalise_name
from contactpoint.synthetic.rand import pick


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
    missing_given_name: float = 0.002  # the given name left empty
    # Dates and gender, per row.
    dob_day_month_swapped: float = 0.01  # of rows whose date of birth can swap (day <= 12, day != month)
    dob_typo: float = 0.015  # one digit of day, month or year mistyped, giving another real date
    # One part wrong in both its digits, giving another real date: the two swapped (2012 for 2021, the 12th for the
    # 21st) or one off across ten (2019 for 2020, September for October, the 19th for the 20th).
    dob_slip: float = 0.005
    missing_date_of_birth: float = 0.003  # GP, child benefit and school census rows
    missing_date_of_birth_social_care: float = 0.02
    impossible_date_of_birth: float = 0.002  # no real date: '2019-02-30', '2015-25-03'
    gender_not_specified: float = 0.002
    # Identifiers and addresses, per row.
    missing_nhs_number_gp: float = 0.01
    missing_nhs_number_social_care: float = 0.35
    invalid_nhs_number_gp: float = 0.005  # a wrong check digit, or a Scottish or Northern Irish number
    invalid_nhs_number_social_care: float = 0.03
    missing_upn_school: float = 0.03
    missing_upn_social_care: float = 0.70
    missing_uln_14_plus: float = 0.35
    missing_postcode: float = 0.005
    postcode_typo: float = 0.02  # of rows with an address: one character changed, or two transposed
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
    # Per child per source: the child sent twice under two record IDs (a re-registration, a second claim, a
    # duplicate case), the second copy with its own share of the mess.
    duplicate_in_source: float = 0.01  # GP, child benefit and school census
    duplicate_in_social_care: float = 0.03

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"mess rate {name} must be between 0 and 1")
        # Kinds that one draw shares out between them (a row's date of birth is missing, impossible, swapped
        # or mistyped, never two of them).
        for kinds in _ONE_DRAW:
            if sum(getattr(self, kind) for kind in kinds) > 1.0:
                raise ValueError(f"mess rates {', '.join(kinds)} must add up to 1 or less")

    def messier(self, factor: float) -> MessRates:
        """These rates with every mistake a source makes in a row ``factor`` times as often: for measuring how
        matching holds up on feeds messier than ours (records no one here has seen). Each mistake is capped at 1,
        and kinds that share one draw (a date of birth is missing, impossible, swapped or mistyped) are scaled
        down together so that they still add up to 1 or less. What shapes the population (twins, moves,
        double-barrelled surnames) and a source's settled habits (nicknames in schools, identifiers social care
        does not hold, dropped accents) stay as they are: a messier feed is not a different country."""
        if factor < 0:
            raise ValueError("a mess factor cannot be negative")
        scaled = {kind: min(1.0, getattr(self, kind) * factor) for kind in SOURCE_MISTAKES}
        for kinds in _ONE_DRAW:
            total = sum(scaled.get(kind, getattr(self, kind)) for kind in kinds)
            if total > 1.0:  # a hair over the total, so that rounding cannot leave the sum above 1
                scaled.update({kind: scaled[kind] / (total + 1e-12) for kind in kinds if kind in scaled})
        return replace(self, **scaled)

    def without_bad_values(self) -> MessRates:
        """These rates without the values a validator catches (an NHS number England cannot use, a missing or
        impossible date of birth, a missing given name): for bad rows, which carry one fault each, and for
        tests that want every value of every row to be valid."""
        return replace(self, invalid_nhs_number_gp=0.0, invalid_nhs_number_social_care=0.0,
                       missing_date_of_birth=0.0, missing_date_of_birth_social_care=0.0,
                       impossible_date_of_birth=0.0, missing_given_name=0.0)


# The mistakes a source makes in a row (``MessRates.messier`` scales these and nothing else).
SOURCE_MISTAKES: tuple[str, ...] = (
    "given_name_typo", "family_name_typo", "names_swapped", "missing_given_name", "dob_day_month_swapped",
    "dob_typo", "dob_slip", "missing_date_of_birth", "missing_date_of_birth_social_care", "impossible_date_of_birth",
    "gender_not_specified", "missing_nhs_number_gp", "missing_nhs_number_social_care", "invalid_nhs_number_gp",
    "invalid_nhs_number_social_care", "missing_upn_school", "missing_postcode", "postcode_typo", "stale_address",
    "duplicate_in_source", "duplicate_in_social_care",
)

_ONE_DRAW: tuple[tuple[str, ...], ...] = (
    ("missing_date_of_birth", "impossible_date_of_birth", "dob_day_month_swapped", "dob_typo", "dob_slip"),
    ("missing_date_of_birth_social_care", "impossible_date_of_birth", "dob_day_month_swapped", "dob_typo",
     "dob_slip"),
    ("missing_postcode", "postcode_typo"),
    ("missing_nhs_number_gp", "invalid_nhs_number_gp"),
    ("missing_nhs_number_social_care", "invalid_nhs_number_social_care"),
)


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


# -- dates of birth -------------------------------------------------------------------------------------------


def dob_typo(dob: date, rng: random.Random, earliest: date = date.min, latest: date = date.max) -> date | None:
    """One digit of ``dob`` (as YYYYMMDD) mistyped so that it is still a real date from ``earliest`` to
    ``latest``: 2015-03-14 -> 2015-03-17, 2015-08-14, 2016-03-14. Never a day/month swap (that differs in
    two or four digits, never one). None if no such date exists."""
    year, month, day = dob.year, dob.month, dob.day
    typed: list[tuple[int, int, int]] = []
    for place in (1000, 100, 10, 1):
        old = year // place % 10
        typed += [(year + (new - old) * place, month, day) for new in range(10) if new != old]
    for place in (10, 1):
        old = month // place % 10
        typed += [(year, month + (new - old) * place, day) for new in range(10) if new != old]
        old = day // place % 10
        typed += [(year, month, day + (new - old) * place) for new in range(10) if new != old]
    candidates = _real_dates(typed, dob, earliest, latest)
    return pick(rng, candidates) if candidates else None


def dob_slip(dob: date, rng: random.Random, earliest: date = date.min, latest: date = date.max) -> date | None:
    """One part of ``dob`` wrong in both its digits, as people slip typing a date: the two swapped (2012 for 2021,
    2015-03-21 for 2015-03-12) or one off across ten (2019 for 2020, 2015-09-03 for 2015-10-03, the 19th for the
    20th). Another real date from ``earliest`` to ``latest``, never one digit away (``dob_typo``) nor the day and
    month swapped. None if no such date exists."""
    def slips(two: int) -> list[int]:
        return [two % 10 * 10 + two // 10, *([two - 1] if two % 10 == 0 else [two + 1] if two % 10 == 9 else [])]

    year, month, day = dob.year, dob.month, dob.day
    typed = [(year - year % 100 + y, month, day) for y in slips(year % 100) if 0 <= y <= 99]
    typed += [(year, m, day) for m in slips(month)] + [(year, month, d) for d in slips(day)]
    candidates = _real_dates(typed, dob, earliest, latest)
    return pick(rng, candidates) if candidates else None


def _real_dates(typed: list[tuple[int, int, int]], dob: date, earliest: date, latest: date) -> list[date]:
    """Those of ``typed`` (year, month, day) that are real dates from ``earliest`` to ``latest``, in order, other
    than ``dob`` itself (a part whose two digits are the same, swapped) and its day and month swapped (a slip of
    its own kind, ``dob_day_month_swapped``)."""
    swapped = swap_day_month(dob)
    return [when for when in (date(y, m, d) for y, m, d in typed
                              if earliest.year <= y <= latest.year and 1 <= m <= 12 and 1 <= d <= _days_in_month(y, m))
            if earliest <= when <= latest and when not in (dob, swapped)]


def _days_in_month(year: int, month: int) -> int:
    if month == 2:
        return 29 if calendar.isleap(year) else 28
    return 30 if month in (4, 6, 9, 11) else 31


def impossible_date(dob: date, rng: random.Random) -> str:
    """A date of birth written YYYY-MM-DD that is no real date, near the real one: a day past the end of its
    month ('2019-02-30', '2021-02-29', '2016-04-31'), or day and month swapped where the day is over 12
    ('2015-25-03'). For a day of 12 or less in a 31-day month, a day past the end of a neighbouring shorter
    month ('2015-04-31' for 2015-03-05)."""
    year, month, day = dob.year, dob.month, dob.day
    candidates = [f"{year:04d}-{month:02d}-{d:02d}" for d in range(calendar.monthrange(year, month)[1] + 1, 32)]
    if day > 12:
        candidates.append(f"{year:04d}-{day:02d}-{month:02d}")
    if not candidates:
        for near in (month - 1, month + 1):
            if 1 <= near <= 12:
                days = calendar.monthrange(year, near)[1]
                candidates += [f"{year:04d}-{near:02d}-{d:02d}" for d in range(days + 1, 32)]
    return pick(rng, candidates)


# -- postcodes ------------------------------------------------------------------------------------------------

# A well-formed UK postcode (BS 7666 as the government data standard gives it): the letters allowed at each
# place of the outward code, and an inward code of a digit and two letters other than C, I, K, M, O and V.
WELL_FORMED_POSTCODE = re.compile(
    r"(?:[A-PR-UWYZ][0-9][0-9]?|[A-PR-UWYZ][A-HK-Y][0-9][0-9]?|[A-PR-UWYZ][0-9][A-HJKPSTUW]"
    r"|[A-PR-UWYZ][A-HK-Y][0-9][ABEHMNPRVWXY]) [0-9][ABD-HJLNP-UW-Z]{2}")
_POSTCODE_TRANSPOSED = 0.2  # of postcode typos: two neighbouring characters exchanged


def postcode_typo(postcode: str, rng: random.Random) -> str:
    """One keying error in a well-formed postcode that leaves it well-formed: one character changed to another
    of its kind (letter for letter, digit for digit), or two neighbouring characters of the outward or
    inward code exchanged. 'NW1 6XE' -> 'NW1 6XF', 'NW7 6XE', 'NW1 6EX'. The result may or may not be a real
    postcode (many near neighbours are)."""
    if rng.random() < _POSTCODE_TRANSPOSED:
        places = [i for i in range(len(postcode) - 1)
                  if " " not in postcode[i:i + 2] and postcode[i] != postcode[i + 1]]
        swapped = [postcode[:i] + postcode[i + 1] + postcode[i] + postcode[i + 2:] for i in places]
        well_formed = [p for p in swapped if WELL_FORMED_POSTCODE.fullmatch(p)]
        if well_formed:
            return pick(rng, well_formed)
    places = [i for i, ch in enumerate(postcode) if ch != " "]
    for _ in range(50):  # nearly always the first or second try: any digit may replace any digit
        i = pick(rng, places)
        kind = string.digits if postcode[i].isdigit() else string.ascii_uppercase
        typed = postcode[:i] + pick(rng, kind.replace(postcode[i], "")) + postcode[i + 1:]
        if WELL_FORMED_POSTCODE.fullmatch(typed):
            return typed
    i = next(i for i in reversed(places) if postcode[i].isdigit())  # a postcode always has its inward digit
    return postcode[:i] + str((int(postcode[i]) + 1) % 10) + postcode[i + 1:]


# -- NHS numbers ----------------------------------------------------------------------------------------------

# Of NHS numbers a validator refuses or England cannot use: a keying slip (its check digit no longer fits), a
# Scottish CHI number (a child registered in Scotland), a Northern Irish health and care number.
_NHS_SLIP, _NHS_SCOTTISH = 0.5, 0.3


def nhs_number_slip(valid: str, rng: random.Random) -> str:
    """One keying slip in a valid NHS number after its first digit: a digit changed, or two neighbouring
    different digits exchanged. The modulus 11 check catches every such slip, so the result is never a
    valid number (and its first digit, which says which UK range it is from, stays England's)."""
    pairs = [i for i in range(1, 9) if valid[i] != valid[i + 1]]
    if pairs and rng.random() < 0.3:
        i = pick(rng, pairs)
        return valid[:i] + valid[i + 1] + valid[i] + valid[i + 2:]
    i = 1 + int(rng.random() * 9)
    return valid[:i] + pick(rng, string.digits.replace(valid[i], "")) + valid[i + 1:]


def _with_check_digit(body: str, rng: random.Random) -> str:
    """``body`` (8 digits) and a ninth digit, then the modulus 11 check digit: a valid number."""
    while True:
        nine = body + str(int(rng.random() * 10))
        check = nhs_number.calculate_checksum(nine)
        if check != 10:
            return nine + str(check)


def chi_number(dob: date, rng: random.Random) -> str:
    """A Scottish CHI number for someone born on ``dob``: DDMMYY, two digits, a digit, and a valid modulus 11
    check digit. Valid as a number, but from Scotland's range, not England's."""
    return _with_check_digit(f"{dob.day:02d}{dob.month:02d}{dob.year % 100:02d}{int(rng.random() * 100):02d}",
                             rng)


def northern_ireland_number(rng: random.Random) -> str:
    """A Northern Irish health and care number (320 000 0000 to 399 999 9999), valid as a number."""
    return _with_check_digit(str(32_000_000 + int(rng.random() * 8_000_000)), rng)


def invalid_nhs_number(valid: str, dob: date, rng: random.Random) -> str:
    """What a feed sends in place of a child's NHS number when it is not one England can use: half the time
    a keying slip (the check digit no longer fits), otherwise a Scottish CHI number for the child's date of
    birth (30 %) or a Northern Irish number (20 %)."""
    r = rng.random()
    if r < _NHS_SLIP:
        return nhs_number_slip(valid, rng)
    if r < _NHS_SLIP + _NHS_SCOTTISH:
        return chi_number(dob, rng)
    return northern_ireland_number(rng)
