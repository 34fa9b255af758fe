"""The anti-trawling policy (seed: "minimum search criteria will be required in order to prevent trawling";
DESIGN.md section 1, after the NHS Personal Demographics Service).

A search must meet one of these rules, or it is refused with a message saying exactly what to add:

    identifier   ContactPoint ID, NHS number or UPN, exactly
    basic        family name + date of birth           (family name matched exactly or by sound)
    fuzzy        given + family + date of birth        (typos, nicknames, transposed names, day/month swaps)
    fuzzy        family + date of birth + gender + postcode
    fuzzy        given + date of birth + gender + postcode

A name ending in * is a wildcard and needs at least two letters before the *. Results are capped; above the cap
the answer is "too many matches, add detail", with no list and no count.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from contactpoint.errors import SearchRefused
from contactpoint.search.criteria import Criteria

MIN_WILDCARD_LETTERS = 2

LABELS = {"family": "family name", "given": "given name", "birthdate": "date of birth", "gender": "gender",
          "postcode": "postcode", "nhs_number": "NHS number", "upn": "UPN", "contactpoint_id": "ContactPoint ID"}


class Mode(StrEnum):
    IDENTIFIER = "identifier"
    BASIC = "basic"
    FUZZY = "fuzzy"


@dataclass(frozen=True)
class Rule:
    name: str
    needs: frozenset[str]
    mode: Mode


RULES: tuple[Rule, ...] = (
    Rule("contactpoint_id", frozenset({"contactpoint_id"}), Mode.IDENTIFIER),
    Rule("nhs_number", frozenset({"nhs_number"}), Mode.IDENTIFIER),
    Rule("upn", frozenset({"upn"}), Mode.IDENTIFIER),
    Rule("given+family+birthdate", frozenset({"given", "family", "birthdate"}), Mode.FUZZY),
    Rule("family+birthdate+gender+postcode", frozenset({"family", "birthdate", "gender", "postcode"}), Mode.FUZZY),
    Rule("given+birthdate+gender+postcode", frozenset({"given", "birthdate", "gender", "postcode"}), Mode.FUZZY),
    Rule("family+birthdate", frozenset({"family", "birthdate"}), Mode.BASIC),
)

# Rules whose every field stays visible on a shielded record: only these can find one (DESIGN.md "Shielding":
# "It can be found only through visible fields").
VISIBLE_FIELDS = frozenset({"contactpoint_id", "family", "given", "birthdate", "gender"})


@dataclass(frozen=True)
class Decision:
    rules: tuple[Rule, ...]  # every rule the criteria meet; the first names the search in the audit trail
    shielded_eligible: bool  # whether a shielded child can be found by these criteria at all

    @property
    def rule(self) -> Rule:
        return self.rules[0]

    @property
    def fuzzy(self) -> bool:
        return any(r.mode == Mode.FUZZY for r in self.rules)

    @property
    def identifier_only(self) -> bool:
        return all(r.mode == Mode.IDENTIFIER for r in self.rules)


def _and(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _what_to_add(given: frozenset[str]) -> str:
    """The smallest additions that would meet a rule, best first."""
    options = sorted({frozenset(r.needs - given) for r in RULES if r.mode != Mode.IDENTIFIER},
                     key=lambda missing: (len(missing), sorted(missing)))
    fewest = len(options[0])
    # The smallest additions, and one more choice if it is not just a bigger version of one already offered.
    best: list[frozenset[str]] = []
    for option in options:
        if len(option) <= fewest + 2 and not any(b <= option for b in best):
            best.append(option)
    best = best[:2]
    phrases = [_and([LABELS[f] for f in sorted(o, key=list(LABELS).index)]) for o in best]
    suggestion = " or ".join(f"the {p}" for p in phrases)
    return f"Add {suggestion}, or search by ContactPoint ID, NHS number or UPN."


def check(criteria: Criteria) -> Decision:
    """The rule these criteria meet (identifiers first, then the fullest fuzzy rule), or ``SearchRefused``."""
    for field in ("family", "given"):
        name = getattr(criteria, field)
        if name is not None and name.wildcard and name.leading < MIN_WILDCARD_LETTERS:
            raise SearchRefused(
                f"Enter at least {MIN_WILDCARD_LETTERS} letters of the {LABELS[field]} before the *.",
                code="insufficient_criteria")
    given = criteria.given_fields()
    met = [r for r in RULES if r.needs <= given]
    if not met:
        raise SearchRefused(_what_to_add(given), code="insufficient_criteria")
    eligible = any(r.needs <= VISIBLE_FIELDS for r in met)
    return Decision(tuple(met), eligible)
