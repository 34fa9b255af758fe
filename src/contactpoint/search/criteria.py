"""Search criteria as a practitioner gives them, checked and normalised.

Raw strings come from a form, the JSON API or FHIR search parameters; ``parse_criteria`` turns them into
``Criteria`` or raises ``ValidationError`` naming the field. A trailing ``*`` makes a name a prefix
("wildcard"); the policy decides whether it is long enough.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date

from contactpoint.children.identifiers import (
    normalise_contactpoint_id,
    normalise_nhs_number,
    normalise_postcode,
    normalise_upn,
    parse_date,
)
from contactpoint.children.record import Gender
from contactpoint.errors import ValidationError
from contactpoint.names import normalise_name

WILDCARD = "*"


@dataclass(frozen=True)
class NameCriterion:
    raw: str  # as typed, kept for the audit trail (encrypted there) and for re-display
    normalised: str  # upper-case letters only, without the wildcard
    wildcard: bool

    @property
    def leading(self) -> int:
        return len(self.normalised)


@dataclass(frozen=True)
class Criteria:
    family: NameCriterion | None = None
    given: NameCriterion | None = None
    birthdate: date | None = None
    gender: Gender | None = None
    postcode: str | None = None
    nhs_number: str | None = None
    upn: str | None = None
    contactpoint_id: str | None = None

    def given_fields(self) -> frozenset[str]:
        return frozenset(f.name for f in fields(self) if getattr(self, f.name) is not None)

    def for_audit(self) -> dict[str, str]:
        """What was searched for, as typed (stored encrypted in the audit trail's detail)."""
        out: dict[str, str] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None:
                continue
            out[f.name] = value.raw if isinstance(value, NameCriterion) else str(value)
        return out


def _name(raw: str, field: str) -> NameCriterion:
    text = raw.strip()
    if len(text) > 100:
        raise ValidationError(field, "a name is at most 100 characters")
    wildcard = text.endswith(WILDCARD)
    body = text.rstrip(WILDCARD)
    if WILDCARD in body:
        raise ValidationError(field, "a * can only go at the end of a name")
    normalised = normalise_name(body)
    if not normalised and not wildcard:
        raise ValidationError(field, "a name must contain letters")
    return NameCriterion(text, normalised, wildcard)


_GENDERS = {"male": Gender.MALE, "m": Gender.MALE, "female": Gender.FEMALE, "f": Gender.FEMALE,
            "not specified": Gender.NOT_SPECIFIED, "unknown": Gender.NOT_SPECIFIED, "other": Gender.NOT_SPECIFIED}


def parse_criteria(*, family: str = "", given: str = "", birthdate: str | date | None = None, gender: str = "",
                   postcode: str = "", nhs_number: str = "", upn: str = "", contactpoint_id: str = "",
                   today: date) -> Criteria:
    """Every value is optional here; ``policy.check`` decides whether enough were given."""
    dob: date | None
    if isinstance(birthdate, date):
        dob = birthdate
    elif birthdate and birthdate.strip():
        dob = parse_date(birthdate, "birthdate")
    else:
        dob = None
    if dob is not None and dob > today:
        raise ValidationError("birthdate", "the date of birth must be in the past")
    sex = None
    if gender and gender.strip():
        sex = _GENDERS.get(gender.strip().lower())
        if sex is None:
            raise ValidationError("gender", "gender is male, female or not specified")
    for value, field in ((nhs_number, "nhs_number"), (upn, "upn"), (contactpoint_id, "contactpoint_id"),
                         (postcode, "postcode")):
        if WILDCARD in (value or ""):
            raise ValidationError(field, "wildcards can only be used in names")
    return Criteria(
        family=_name(family, "family") if family and family.strip() else None,
        given=_name(given, "given") if given and given.strip() else None,
        birthdate=dob,
        gender=sex,
        postcode=normalise_postcode(postcode) if postcode and postcode.strip() else None,
        nhs_number=normalise_nhs_number(nhs_number) if nhs_number and nhs_number.strip() else None,
        upn=normalise_upn(upn) if upn and upn.strip() else None,
        contactpoint_id=normalise_contactpoint_id(contactpoint_id) if contactpoint_id and contactpoint_id.strip()
        else None,
    )
