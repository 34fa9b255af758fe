"""Scoring a candidate against search criteria with the match model the feeds use.

The comparisons and their levels are the match model's (``contactpoint.matching.model``), computed here in
Python for one pair at a time, and each level's weight log2(m/u) is the trained model's. Two levels exist only
in search: a wildcard prefix of a name ("Har*"), whose weight is documented below. A comparison whose criterion
was not given, or whose field the candidate does not show (a shielded record's hidden fields), adds nothing.

Whether a candidate is a result:
- identifier searches and fuzzy searches: its total weight reaches ``THRESHOLD``;
- a basic search (family name and date of birth only) finds exactly that: the same date of birth, and a family
  name that is the same, a part or a former name, a typo of it, the same sound, or the wildcard's prefix.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from rapidfuzz.distance import DamerauLevenshtein, JaroWinkler

from contactpoint.children.record import Gender
from contactpoint.names import forename_roots, forenames, name_parts, normalise_name, phonetic
from contactpoint.search.criteria import Criteria, NameCriterion

# (m, u) per level, as the model was trained when this was written (docs/search.md); the installed model's
# values replace them (``model_weights.trained_levels``). "prefix" is search's own level for wildcards.
DEFAULT_LEVELS: dict[str, dict[str, tuple[float, float]]] = {
    "family_name": {"exact": (0.9466, 0.004356), "part or former surname": (0.01367, 0.0009704),
                    "transposed": (0.007248, 0.0002321), "typo": (0.02009, 0.0006033),
                    "same sound": (0.0087, 0.0007869), "similar": (0.004253, 0.003278),
                    "prefix": (0.90, 0.027), "else": (0.007681, 0.9898)},
    "given_name": {"exact": (0.8176, 0.002913), "nickname": (0.1381, 0.002993), "transposed": (0.008941, 0.0002764),
                   "typo": (0.01883, 0.0004304), "same sound": (0.002519, 0.001399),
                   "similar": (0.007165, 0.004426), "prefix": (0.90, 0.056), "else": (0.00764, 0.9836)},
    "birth_date": {"exact": (0.9899, 0.0001982), "day and month swapped": (0.006938, 4.754e-05),
                   "one digit off or two swapped": (0.001, 0.004166), "two of year, month and day": (0.001, 0.003672),
                   "else": (0.00471, 0.9926)},
    "address": {"same postcode": (0.1627, 0.0002584), "same sector": (0.001297, 0.03151),
                "same district": (0.004558, 0.09325), "else": (0.05181, 0.8749)},
    "gender": {"exact": (0.999, 0.5031), "else": (0.001, 0.4969)},
    "nhs_number": {"exact": (0.9819, 2.676e-06), "else": (0.01807, 0.999997)},
    "upn": {"exact": (0.8818, 1e-07), "else": (0.1182, 0.9999999)},
}

THRESHOLD = 14.0  # total weight a candidate needs in an identifier or fuzzy search
BASIC_FAMILY_LEVELS = frozenset({"exact", "part or former surname", "typo", "same sound", "prefix"})


def weight(m: float, u: float) -> float:
    return math.log2(m / u)


@dataclass(frozen=True)
class Candidate:
    """What the scorer may see of a candidate (hidden fields of a shielded child are None)."""

    given: str
    family: str
    former_families: tuple[str, ...]
    birthdate: date
    gender: Gender | None
    middle: str = ""
    postcode: str | None = None
    nhs_number: str | None = None
    upn: str | None = None


@dataclass(frozen=True)
class Score:
    weight: float
    levels: dict[str, str]
    basic_match: bool = True

    @property
    def probability(self) -> float:
        """For display (FHIR ``search.score``): 0.5 at weight 10, 0.94 at the threshold, ~1 above 20."""
        return 1.0 / (1.0 + 2.0 ** (-(self.weight - 10.0)))


def _family_level(q: NameCriterion, c: Candidate) -> str:
    parts = name_parts(c.family)
    if q.wildcard:
        return "prefix" if any(p.startswith(q.normalised) for p in parts) else "else"
    name, family = q.normalised, normalise_name(c.family)
    if name == family:
        return "exact"
    if name in parts or any(name in name_parts(f) for f in c.former_families):
        return "part or former surname"
    if name == normalise_name(c.given):
        return "transposed"
    if JaroWinkler.similarity(name, family) >= 0.92:
        return "typo"
    if phonetic(name) == phonetic(family):
        return "same sound"
    return "similar" if JaroWinkler.similarity(name, family) >= 0.80 else "else"


def _given_level(q: NameCriterion, c: Candidate) -> str:
    given = normalise_name(c.given)
    if q.wildcard:
        return "prefix" if given.startswith(q.normalised) else "else"
    name = q.normalised
    if name == given:
        return "exact"
    # "Amelia Rose" typed for the child whose given name is Amelia and middle name Rose (sources with one field
    # for all the forenames send it so too; ``forenames``): the first forename is the given name.
    if (typed := forenames(q.raw)) and typed[0] == given:
        middle = c.middle.split()
        return "exact" if middle and normalise_name(middle[0]) == typed[1] else "nickname"
    if forename_roots(q.raw) & forename_roots(c.given):
        return "nickname"
    if name == normalise_name(c.family):
        return "transposed"
    if JaroWinkler.similarity(name, given) >= 0.92:
        return "typo"
    if phonetic(name) == phonetic(given):
        return "same sound"
    return "similar" if JaroWinkler.similarity(name, given) >= 0.80 else "else"


def _birth_level(q: date, c: date) -> str:
    if q == c:
        return "exact"
    if q.year == c.year and (q.day, q.month) == (c.month, c.day):
        return "day and month swapped"
    if DamerauLevenshtein.distance(q.isoformat(), c.isoformat()) <= 1:
        return "one digit off or two swapped"
    if (q.year, q.month) == (c.year, c.month) or (q.year, q.day) == (c.year, c.day) \
            or ((q.month, q.day) == (c.month, c.day) and abs(q.year - c.year) == 1):
        return "two of year, month and day"
    return "else"


def _address_level(q: str, c: str) -> str:
    if q == c:
        return "same postcode"
    if q[:-2] == c[:-2]:
        return "same sector"
    return "same district" if q.split(" ")[0] == c.split(" ")[0] else "else"


class Scorer:
    def __init__(self, levels: Mapping[str, Mapping[str, tuple[float, float]]] = DEFAULT_LEVELS) -> None:
        self.weights = {c: {lvl: weight(m, u) for lvl, (m, u) in lv.items()} for c, lv in levels.items()}

    def score(self, criteria: Criteria, c: Candidate, *, fuzzy: bool) -> Score:
        levels: dict[str, str] = {}
        if criteria.family is not None:
            levels["family_name"] = _family_level(criteria.family, c)
        if criteria.given is not None:
            levels["given_name"] = _given_level(criteria.given, c)
        if criteria.birthdate is not None:
            levels["birth_date"] = _birth_level(criteria.birthdate, c.birthdate)
        if criteria.gender is not None and c.gender is not None \
                and Gender.NOT_SPECIFIED not in (criteria.gender, c.gender):
            levels["gender"] = "exact" if criteria.gender == c.gender else "else"
        if criteria.postcode is not None and c.postcode is not None:
            levels["address"] = _address_level(criteria.postcode, c.postcode)
        for field in ("nhs_number", "upn"):
            q, v = getattr(criteria, field), getattr(c, field)
            if q is not None and v is not None:
                levels[field] = "exact" if q == v else "else"
        total = sum(self.weights[comparison][level] for comparison, level in levels.items())
        basic = levels.get("birth_date") == "exact" and levels.get("family_name") in BASIC_FAMILY_LEVELS
        return Score(total, levels, basic)

    @staticmethod
    def accepts(score: Score, *, fuzzy: bool, identifier_only: bool, postcode_decides: bool = False) -> bool:
        if postcode_decides and score.levels.get("address") not in ("same postcode", "same sector"):
            # Without a family name the postcode is what makes the search specific enough (given name, date of
            # birth, gender and postcode): a child elsewhere is not a result, however alike otherwise.
            return False
        if fuzzy or identifier_only:
            return score.weight >= THRESHOLD
        return score.basic_match and "else" not in (score.levels.get("nhs_number"), score.levels.get("upn"))
