"""Identifier systems and codes used in ContactPoint's FHIR resources.

NHS number and GP practice codes use the NHS England systems UK Core expects. ContactPoint's own identifiers
and refusal codes have no national FHIR system, so they use URNs of our own (documented in docs/api.md)."""

from __future__ import annotations

NHS_NUMBER = "https://fhir.nhs.uk/Id/nhs-number"
ODS_ORGANISATION = "https://fhir.nhs.uk/Id/ods-organization-code"
CONTACTPOINT_ID = "urn:contactpoint:id:contactpoint-id"
UPN = "urn:contactpoint:id:upn"
ULN = "urn:contactpoint:id:uln"
SCHOOL_URN = "urn:contactpoint:id:school-urn"
REFUSAL = "urn:contactpoint:refusal"
PRECONDITION = "urn:contactpoint:precondition"  # which condition of access has lapsed
WHEREABOUTS = "urn:contactpoint:extension:whereabouts"
UK_CORE_PATIENT = "https://fhir.hl7.org.uk/StructureDefinition/UKCore-Patient"
CONFIDENTIALITY = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
RESTRICTED = {"system": CONFIDENTIALITY, "code": "R", "display": "restricted"}
FHIR_JSON = "application/fhir+json"
FHIR_VERSION = "4.0.1"

IDENTIFIER_FIELDS = {NHS_NUMBER: "nhs_number", UPN: "upn", CONTACTPOINT_ID: "contactpoint_id"}
