"""``GET /fhir/metadata``: what this FHIR server does (a CapabilityStatement). Public: it describes the
interface and holds no data."""

from __future__ import annotations

from typing import Any

from contactpoint.fhir import systems

PUBLISHED = "2026-11-24"  # when this statement last changed

SEARCH_PARAMETERS = [
    ("family", "string",
     "Family name. Matched by spelling and sound; end with * after 2 letters for a prefix."),
    ("given", "string", "Given name, matched as family is."),
    ("birthdate", "date", "One exact date: YYYY-MM-DD or eqYYYY-MM-DD. Ranges are refused."),
    ("gender", "token", "male | female | other | unknown"),
    ("address-postalcode", "string", "Postcode of the child's current address."),
    ("identifier", "token", (f"{systems.NHS_NUMBER}|<NHS number>, {systems.UPN}|<UPN> or "
                            f"{systems.CONTACTPOINT_ID}|<ContactPoint ID>; a value without a system is an "
                            "NHS number.")),
    ("_reason", "token", ("Required. Why you need this: child_protection | common_assessment | referral | "
                         "education | health | youth_justice | other.")),
    ("_reason_text", "string", "Required with _reason=other: say why in 10 to 200 characters."),
]


def capability_statement() -> dict[str, Any]:
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": PUBLISHED,
        "publisher": "ContactPoint",
        "kind": "instance",
        "software": {"name": "ContactPoint"},
        "implementation": {"description": "ContactPoint: the national child index for England"},
        "fhirVersion": systems.FHIR_VERSION,
        "format": [systems.FHIR_JSON, "json"],
        "rest": [{
            "mode": "server",
            "documentation": "Every search and every read needs the _reason parameter, and a bearer token "
                             "from POST /api/v1/session. The minimum search criteria are: an identifier; or "
                             "family + birthdate; or given + family + birthdate; or family (or given) + "
                             "birthdate + gender + address-postalcode. Too little detail, or more matches "
                             "than the cap, is refused with an OperationOutcome saying what to add.",
            "security": {"cors": False,
                         "description": "Authorization: Bearer <token> from POST /api/v1/session (the "
                                        "practitioner's password, PIN and security code). See docs/api.md."},
            "resource": [{
                "type": "Patient",
                "profile": systems.UK_CORE_PATIENT,
                "interaction": [{"code": "read", "documentation": "Needs ?_reason=..."},
                                {"code": "search-type"}],
                "searchParam": [{"name": name, "type": kind, "documentation": doc}
                                for name, kind, doc in SEARCH_PARAMETERS],
            }],
        }],
    }
