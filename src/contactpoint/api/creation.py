"""A local authority's data manager creates a child no source knows, through the API (issue 19), thin over
``contactpoint.ingest.manual``: the same validation, matching, review queue, idempotence and audit as the page and
the CLI.

    POST /api/v1/records   201 created (the new ContactPoint ID), or 202 sent for a decision (a reference only)
"""

from __future__ import annotations

from django.utils import timezone
from ninja import Router, Status

from contactpoint.access.roles import Permission
from contactpoint.api.auth import PractitionerRequest, PractitionerToken
from contactpoint.api.schemas import NewChildOut, NewChildRequest, Problem
from contactpoint.ingest import manual
from contactpoint.vault.keyring import get_keyring

router = Router(tags=["records"])


def values_of(body: NewChildRequest) -> dict[str, str]:
    values = body.dict(exclude={"submission", "carers"})
    for n, carer in enumerate(body.carers[:2], start=1):
        values |= {f"carer_{n}_name": carer.name, f"carer_{n}_relationship": carer.relationship,
                   f"carer_{n}_phone": carer.phone,
                   f"carer_{n}_parental_responsibility": {True: "yes", False: "no", None: ""}[
                       carer.parental_responsibility]}
    return values


@router.post("/records", auth=PractitionerToken(Permission.LA_RECORDS_CORRECT),
             response={201: NewChildOut, 202: NewChildOut, 401: Problem, 403: Problem, 422: Problem},
             summary="Create a record for a child no source knows (matched first: a possible match goes to review)",
             operation_id="create_child")
def create(request: PractitionerRequest, body: NewChildRequest):
    made = manual.create_child(request.auth, values_of(body), submission=body.submission, keyring=get_keyring(),
                               now=timezone.now())
    return Status(201 if made.outcome == manual.Outcome.CREATED else 202, {
        "outcome": made.outcome.value, "reference": made.reference, "contactpoint_id": made.cpid,
        "message": made.message, "repeated": made.repeated})
