"""FHIR search parameters for ``Patient``, turned into the search's own criteria.

Names follow FHIR (``family``, ``given``, ``birthdate``, ``gender``, ``address-postalcode``, ``identifier``);
what they match follows ContactPoint's anti-trawling policy, not FHIR's string defaults: ``family=Har`` is not
a prefix search (write ``Har*``, after at least two letters), and names are matched by sound and spelling as
on every other way in. ``birthdate`` takes one exact day (``2015-06-03`` or ``eq2015-06-03``): ranges would
let a search sweep a year of births.
"""

from __future__ import annotations

from typing import Any

from contactpoint.errors import ValidationError
from contactpoint.fhir.systems import IDENTIFIER_FIELDS, NHS_NUMBER

DATE_PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap")
GENDERS = {"male": "male", "female": "female", "other": "not specified", "unknown": "not specified"}

# How a criterion's own field name reads in FHIR terms (for OperationOutcome.issue.expression).
PARAMETER_OF = {"family": "family", "given": "given", "birthdate": "birthdate", "gender": "gender",
                "postcode": "address-postalcode", "nhs_number": "identifier", "upn": "identifier",
                "contactpoint_id": "identifier", "reason": "_reason", "reason_text": "_reason_text"}


def _birthdate(raw: str) -> str:
    raw = raw.strip()
    prefix = raw[:2]
    if prefix in DATE_PREFIXES and not prefix.isdigit():
        if prefix != "eq":
            raise ValidationError("birthdate", "only one exact date of birth can be searched: YYYY-MM-DD")
        raw = raw[2:]
    if len(raw) != 10:
        raise ValidationError("birthdate", "give the full date of birth: YYYY-MM-DD")
    return raw


def _identifier(raw: str) -> tuple[str, str]:
    system, bar, value = raw.partition("|")
    if not bar:
        # No system: an NHS number is the identifier a health system will have (UK Core).
        return "nhs_number", raw
    field = IDENTIFIER_FIELDS.get(system.strip())
    if field is None:
        raise ValidationError("identifier", f"the identifier system is {NHS_NUMBER} (NHS number) or one of "
                                            f"{', '.join(s for s in IDENTIFIER_FIELDS if s != NHS_NUMBER)}")
    return field, value


def criteria_arguments(*, family: str | None, given: str | None, birthdate: str | None, gender: str | None,
                       postalcode: str | None, identifier: str | None) -> dict[str, Any]:
    """Keyword arguments for ``contactpoint.search.criteria.parse_criteria``."""
    out: dict[str, Any] = {"family": family or "", "given": given or "", "postcode": postalcode or ""}
    if birthdate:
        out["birthdate"] = _birthdate(birthdate)
    if gender:
        code = GENDERS.get(gender.strip().lower())
        if code is None:
            raise ValidationError("gender", "gender is male, female, other or unknown")
        out["gender"] = code
    if identifier:
        field, value = _identifier(identifier)
        out[field] = value
    return out
