"""How the best view chooses each value (seed: "ContactPoint builds a 'best view' of all information on a child
from both national and local data sources"; DESIGN.md section 1 "Accuracy").

Identity fields (name, date of birth, gender, NHS number, UPN, ULN, date of death) are chosen by a weighted
vote of the sources that hold a value: each source kind has a weight for each field, by how trustworthy it is for
that field (GP registrations carry the NHS-traced name and date of birth; schools often use the name a child
is known by). The value with the most weight wins; a tie goes to the more trusted source, then the more recent.
So one trusted source outweighs one less trusted source, but two sources agreeing can outvote it.

Whereabouts, education and GP change over time: the most recent report wins (ties to the more trusted source).
Carers and involvements are combined from every source. Former names are every family name the sources have
used that is not the chosen one.

    field            highest weight first
    name             gp_registrations 5, child_benefit 4, la_social_care 3, health 3, school_census 2, other 1
    date_of_birth    gp_registrations 5, child_benefit 4, school_census 3, la_social_care 3, health 3, other 1
    gender           gp_registrations 5, child_benefit 4, school_census 3, la_social_care 3, health 3, other 1
    nhs_number       gp_registrations 5, health 4, la_social_care 3, other 1
    upn, uln         school_census 5, la_social_care 3, other 1
    date_of_death    gp_registrations 5, health 4, la_social_care 3, child_benefit 3, other 1
    address          (recency) child_benefit 4, gp_registrations 4, school_census 3, la_social_care 3, other 1
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Generic, TypeVar

T = TypeVar("T")

WEIGHTS: dict[str, dict[str, int]] = {
    "name": {"gp_registrations": 5, "child_benefit": 4, "la_social_care": 3, "health": 3, "school_census": 2},
    "date_of_birth": {"gp_registrations": 5, "child_benefit": 4, "school_census": 3, "la_social_care": 3,
                      "health": 3},
    "gender": {"gp_registrations": 5, "child_benefit": 4, "school_census": 3, "la_social_care": 3, "health": 3},
    "nhs_number": {"gp_registrations": 5, "health": 4, "la_social_care": 3},
    "upn": {"school_census": 5, "la_social_care": 3},
    "uln": {"school_census": 5, "la_social_care": 3},
    "date_of_death": {"gp_registrations": 5, "health": 4, "la_social_care": 3, "child_benefit": 3},
    "address": {"child_benefit": 4, "gp_registrations": 4, "school_census": 3, "la_social_care": 3},
    "education": {"school_census": 5, "la_social_care": 3},
    "gp": {"gp_registrations": 5, "health": 3},
    "carers": {"child_benefit": 4, "la_social_care": 4, "school_census": 3, "gp_registrations": 2},
}
DEFAULT_WEIGHT = 1

# The fields whose disagreement is flagged back to the source for correction.
DISCREPANCY_FIELDS = ("date_of_birth", "name", "nhs_number", "gender")


def weight(field: str, source_kind: str) -> int:
    return WEIGHTS.get(field, {}).get(source_kind, DEFAULT_WEIGHT)


@dataclass(frozen=True)
class Claim(Generic[T]):
    """One source record's value for a field."""

    value: T
    source_kind: str
    recency: date  # when the source last updated the value (its updated_at, else when we received it)
    origin: Any  # whatever the caller needs to build provenance (its source record)


def vote(field: str, claims: Sequence[Claim[T]], key: Callable[[T], Hashable] = lambda v: v) -> Claim[T] | None:
    """The winning claim: most total weight for its (normalised) value; ties to the most trusted single source,
    then the most recent."""
    if not claims:
        return None
    totals: dict[Hashable, int] = {}
    for c in claims:
        totals[key(c.value)] = totals.get(key(c.value), 0) + weight(field, c.source_kind)
    return max(claims, key=lambda c: (totals[key(c.value)], weight(field, c.source_kind), c.recency))


def latest(field: str, claims: Sequence[Claim[T]]) -> Claim[T] | None:
    """The most recent claim; ties to the most trusted source."""
    if not claims:
        return None
    return max(claims, key=lambda c: (c.recency, weight(field, c.source_kind)))
