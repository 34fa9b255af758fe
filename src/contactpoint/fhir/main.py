"""FHIR R4 routes: ``GET /fhir/metadata`` (public), ``GET /fhir/Patient`` (search) and
``GET /fhir/Patient/{id}`` (read). Every error is an OperationOutcome, with the same status and the same
refusal code (in ``issue.details.coding``) as the JSON API gives for it."""

from __future__ import annotations

import json
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import NinjaAPI, Query
from ninja.renderers import BaseRenderer

from contactpoint.access.reasons import parse_reason
from contactpoint.access.roles import Permission
from contactpoint.api.auth import PractitionerRequest, PractitionerToken
from contactpoint.api.errors import Refusal, classify, handle_everything
from contactpoint.config import get_settings
from contactpoint.fhir import patient, systems
from contactpoint.fhir.capability import capability_statement
from contactpoint.fhir.params import PARAMETER_OF, criteria_arguments
from contactpoint.records.view import view_record
from contactpoint.search.criteria import parse_criteria
from contactpoint.search.service import search
from contactpoint.vault.keyring import get_keyring


class FhirRenderer(BaseRenderer):
    media_type = systems.FHIR_JSON

    def render(self, request: HttpRequest, data: Any, *, response_status: int) -> str:
        return json.dumps(data, cls=DjangoJSONEncoder)


fhir = NinjaAPI(title="ContactPoint FHIR R4", version="R4", urls_namespace="fhir", renderer=FhirRenderer(),
                openapi_url=None, docs_url=None)

ISSUE_TYPE = {"insufficient_criteria": "required", "too_many_matches": "too-costly",
              "rate_limited": "throttled", "invalid": "invalid", "not_found": "not-found",
              "method_not_allowed": "not-supported", "precondition_failed": "forbidden",
              "permission_denied": "forbidden", "feed_rejected": "invalid", "server_error": "exception"}


def operation_outcome(refusal: Refusal) -> dict[str, Any]:
    issue: dict[str, Any] = {
        "severity": "fatal" if refusal.status >= 500 else "error",
        "code": ISSUE_TYPE.get(refusal.code, "login" if refusal.status == 401 else "processing"),
        "details": {"coding": [{"system": systems.REFUSAL, "code": refusal.code}], "text": refusal.detail},
    }
    if refusal.extra.get("precondition"):
        issue["details"]["coding"].append({"system": systems.PRECONDITION,
                                           "code": refusal.extra["precondition"]})
    if refusal.extra.get("action"):
        issue["diagnostics"] = refusal.extra["action"]
    field = refusal.extra.get("field")
    if field:
        issue["expression"] = [PARAMETER_OF.get(field, field)]
    return {"resourceType": "OperationOutcome", "issue": [issue]}


def outcome_response(request: HttpRequest, refusal: Refusal) -> HttpResponse:
    response = fhir.create_response(request, operation_outcome(refusal), status=refusal.status)
    if refusal.status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="ContactPoint"'
    return response


def _any(request: HttpRequest, exc: Exception) -> HttpResponse:
    return outcome_response(request, classify(exc))


handle_everything(fhir, _any)


def _reason():
    return Query(None, alias="_reason", max_length=40, description="required: why you need this")


def _reason_text():
    return Query(None, alias="_reason_text", max_length=400, description="required with _reason=other")


# Every answer is a FHIR resource (a Bundle, Patient, CapabilityStatement or OperationOutcome).
Resource = dict[str, Any]
REFUSALS = {status: Resource for status in (401, 403, 422, 429)}


@fhir.get("/metadata", auth=None, response={200: Resource}, summary="CapabilityStatement",
          operation_id="fhir_metadata")
def metadata(request: HttpRequest):
    return capability_statement()


@fhir.get("/Patient", auth=PractitionerToken(Permission.CHILD_SEARCH), response={200: Resource, **REFUSALS},
          summary="Search for a Patient",
          operation_id="fhir_patient_search")
def patient_search(request: PractitionerRequest,
                   family: str | None = Query(None, max_length=120),
                   given: str | None = Query(None, max_length=120),
                   birthdate: str | None = Query(None, max_length=12),
                   gender: str | None = Query(None, max_length=20),
                   postalcode: str | None = Query(None, alias="address-postalcode", max_length=10),
                   identifier: str | None = Query(None, max_length=120),
                   reason: str | None = _reason(), reason_text: str | None = _reason_text()):
    stated = parse_reason(reason, reason_text, role_code=request.auth.role_code)
    now = timezone.now()
    arguments = criteria_arguments(family=family, given=given, birthdate=birthdate, gender=gender,
                                   postalcode=postalcode, identifier=identifier)
    criteria = parse_criteria(**arguments, today=timezone.localdate(now))
    result = search(request.auth, criteria, stated, keyring=get_keyring(), now=now,
                    limits=get_settings().search)
    bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "searchset", "total": len(result.hits)}
    if result.hits:  # FHIR allows no empty arrays
        bundle["entry"] = [{"fullUrl": request.build_absolute_uri(f"/fhir/Patient/{hit.cpid}"),
                            "resource": patient.from_hit(hit),
                            "search": {"mode": "match", "score": round(hit.score.probability, 4)}}
                           for hit in result.hits]
    return bundle


@fhir.get("/Patient/{id}", auth=PractitionerToken(Permission.CHILD_VIEW),
          response={200: Resource, 404: Resource, **REFUSALS}, summary="Read a Patient",
          operation_id="fhir_patient_read")
def patient_read(request: PractitionerRequest, id: str,
                 reason: str | None = _reason(), reason_text: str | None = _reason_text()):
    stated = parse_reason(reason, reason_text, role_code=request.auth.role_code)
    # view_record reads the ID (a mistyped one is not found like an unknown one) and audits every miss: asking for
    # IDs that lead nowhere is how one would guess at them, malformed or not.
    view = view_record(request.auth, id, stated, keyring=get_keyring(), now=timezone.now())
    return patient.from_view(view)
