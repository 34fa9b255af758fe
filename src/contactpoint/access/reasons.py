"""Why a practitioner is searching or looking at a record (seed: "all users will have to state clear reasons
for why they are accessing ContactPoint"). A fixed list, plus free text for "other"; recorded with every search
and every view, the text encrypted (it may name people)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from contactpoint.access.roles import ROLES_BY_CODE, Permission
from contactpoint.errors import ValidationError


class Reason(StrEnum):
    CHILD_PROTECTION = "child_protection"
    COMMON_ASSESSMENT = "common_assessment"
    REFERRAL = "referral"
    EDUCATION = "education"
    HEALTH = "health"
    YOUTH_JUSTICE = "youth_justice"
    OTHER = "other"


LABELS: dict[Reason, str] = {
    Reason.CHILD_PROTECTION: "Child protection enquiry",
    Reason.COMMON_ASSESSMENT: "Common assessment (CAF)",
    Reason.REFERRAL: "Referral to or from another service",
    Reason.EDUCATION: "Education: admission, attendance, special educational needs or a child missing education",
    Reason.HEALTH: "Health: care or follow-up of the child",
    Reason.YOUTH_JUSTICE: "Youth justice",
    Reason.OTHER: "Other (say what)",
}

OTHER_MIN, OTHER_MAX = 10, 200

# Which reasons each role may state (issue 18: a teacher was offered "Health"). Access is granted "in line with
# this purpose" (regulation 9; Annex A of the seed lists each role by the functions it exercises), so a role is
# offered the reasons that fall within its functions. Safeguarding is every practitioner's duty (Children Act
# 2004 s.11), and a common assessment, a referral or "other" (said in words, and audited) belong to all of them.
EVERY_PRACTITIONER = frozenset({Reason.CHILD_PROTECTION, Reason.COMMON_ASSESSMENT, Reason.REFERRAL, Reason.OTHER})
_FUNCTIONS: dict[str, frozenset[Reason]] = {
    "sch3-1a": frozenset({Reason.EDUCATION, Reason.HEALTH, Reason.YOUTH_JUSTICE}),  # social services: all of care
    "sch3-1b": frozenset({Reason.EDUCATION}),  # SEN, admissions, attendance, welfare (Education Acts)
    "sch3-1c": frozenset(),
    "sch3-1d": frozenset({Reason.EDUCATION, Reason.HEALTH}),  # co-operation to improve well-being (s.10)
    "sch3-1e": frozenset(Reason),  # the authority's ContactPoint team runs the index for every purpose
    "sch3-2": frozenset({Reason.HEALTH}),
    "sch3-3": frozenset({Reason.YOUTH_JUSTICE}),
    "sch3-4": frozenset({Reason.YOUTH_JUSTICE}),
    "sch3-5": frozenset({Reason.YOUTH_JUSTICE}),
    "sch3-6": frozenset({Reason.YOUTH_JUSTICE}),
    "sch3-7": frozenset({Reason.YOUTH_JUSTICE}),
    "sch3-8": frozenset({Reason.EDUCATION}),  # youth support services (Learning and Skills Act 2000 s.114)
    "sch3-9": frozenset({Reason.EDUCATION}),
    "sch3-10": frozenset({Reason.EDUCATION}),
    "sch3-11": frozenset(),
    "sch3-12": frozenset({Reason.HEALTH}),  # registered social care workers, also in health bodies
    "sch3-13": frozenset(),
    "sch3-14": frozenset(),
    "sch3-15": frozenset(),
    "national-partner": frozenset(),
    "data-manager": frozenset(Reason),  # corrects and completes records, whatever they are needed for
}


def reasons_for(role_code: str) -> tuple[Reason, ...]:
    """The reasons someone in this role may state, in the order of ``Reason``; none for a role that cannot
    search or view (an unknown role, an auditor, an operator)."""
    role = ROLES_BY_CODE.get(role_code)
    if role is None or not ({Permission.CHILD_SEARCH, Permission.CHILD_VIEW} & role.permissions):
        return ()
    allowed = EVERY_PRACTITIONER | _FUNCTIONS.get(role_code, frozenset())
    return tuple(r for r in Reason if r in allowed)


@dataclass(frozen=True)
class StatedReason:
    reason: Reason
    text: str = ""

    @property
    def label(self) -> str:
        return self.text if self.reason == Reason.OTHER else LABELS[self.reason]


def parse_reason(code: str | None, text: str | None = "", *, role_code: str | None = None) -> StatedReason:
    """The stated reason, refused if it is not one the role may give (every web, API and FHIR entry point passes
    the user's role: ``tests/access/test_reasons.py`` checks they do; ``None`` is for domain tests only)."""
    if not code or not code.strip():
        raise ValidationError("reason", "choose why you need to find this child")
    offered = Reason if role_code is None else reasons_for(role_code)
    try:
        reason = Reason(code.strip())
    except ValueError:
        raise ValidationError("reason", f"the reason must be one of: {', '.join(r.value for r in offered)}") from None
    if reason not in offered:
        # A ValidationError, not PermissionDenied: the form shows it on the reason field and the API says which
        # reasons the role may give, as for any other reason it does not know.
        raise ValidationError("reason", "your role may not give this reason; choose one of the reasons offered")
    text = (text or "").strip()
    if reason == Reason.OTHER:
        if len(text) < OTHER_MIN:
            raise ValidationError("reason_text", f"say in at least {OTHER_MIN} characters why you need this")
        if len(text) > OTHER_MAX:
            raise ValidationError("reason_text", f"say why in {OTHER_MAX} characters or fewer")
        return StatedReason(reason, text)
    return StatedReason(reason)
