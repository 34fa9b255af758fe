"""Why a practitioner is searching or looking at a record (seed: "all users will have to state clear reasons
for why they are accessing ContactPoint"). A fixed list, plus free text for "other"; recorded with every search
and every view, the text encrypted (it may name people)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

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


@dataclass(frozen=True)
class StatedReason:
    reason: Reason
    text: str = ""

    @property
    def label(self) -> str:
        return self.text if self.reason == Reason.OTHER else LABELS[self.reason]


def parse_reason(code: str | None, text: str | None = "") -> StatedReason:
    if not code or not code.strip():
        raise ValidationError("reason", "choose why you need to find this child")
    try:
        reason = Reason(code.strip())
    except ValueError:
        raise ValidationError("reason", f"the reason must be one of: {', '.join(r.value for r in Reason)}") from None
    text = (text or "").strip()
    if reason == Reason.OTHER:
        if len(text) < OTHER_MIN:
            raise ValidationError("reason_text", f"say in at least {OTHER_MIN} characters why you need this")
        if len(text) > OTHER_MAX:
            raise ValidationError("reason_text", f"say why in {OTHER_MAX} characters or fewer")
        return StatedReason(reason, text)
    return StatedReason(reason)
