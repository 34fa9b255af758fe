"""A local authority's data manager corrects or completes a record through the API (issue 19), thin over
``contactpoint.records.amendments``: the same rules, refusals and audit as the pages and the CLI.

    POST /api/v1/children/{contactpoint_id}/amendments   change one value (an identifier waits for approval)
    POST /api/v1/amendments/{reference}/decision         a second data manager approves or rejects an identifier
    POST /api/v1/amendments/{reference}/withdraw         the sources' value applies again
"""

from __future__ import annotations

from django.utils import timezone
from ninja import Router, Status

from contactpoint.access.roles import Permission
from contactpoint.api.auth import PractitionerRequest, PractitionerToken
from contactpoint.api.schemas import AmendmentDecision, AmendmentOut, AmendmentRequest, Problem
from contactpoint.children.identifiers import normalise_contactpoint_id
from contactpoint.errors import NotFound, ValidationError
from contactpoint.records import amendments
from contactpoint.records.models import Amendment
from contactpoint.vault.keyring import get_keyring

router = Router(tags=["amendments"])
REFUSALS = {401: Problem, 403: Problem, 404: Problem, 409: Problem, 422: Problem}


def _out(row: Amendment) -> dict:
    return {"reference": row.key, "contactpoint_id": row.child.cpid, "field": row.field, "status": row.status,
            "made_at": row.made_at}


@router.post("/children/{contactpoint_id}/amendments", auth=PractitionerToken(Permission.LA_RECORDS_CORRECT),
             response={201: AmendmentOut, **REFUSALS}, summary="Correct or complete a value of a child's record",
             operation_id="amend_child")
def amend(request: PractitionerRequest, contactpoint_id: str, body: AmendmentRequest):
    try:
        cpid = normalise_contactpoint_id(contactpoint_id)
    except ValidationError:
        raise NotFound(amendments.NOT_YOURS) from None
    row = amendments.amend(request.auth, cpid, body.field, body.values, body.reason, keyring=get_keyring(),
                           now=timezone.now())
    return Status(201, _out(row))


@router.post("/amendments/{reference}/decision", auth=PractitionerToken(Permission.LA_RECORDS_CORRECT),
             response={200: AmendmentOut, **REFUSALS}, summary="Approve or reject a proposed identifier change",
             operation_id="decide_amendment")
def decide(request: PractitionerRequest, reference: str, body: AmendmentDecision):
    return _out(amendments.decide(request.auth, reference, approve=body.approve, keyring=get_keyring(),
                                  now=timezone.now()))


@router.post("/amendments/{reference}/withdraw", auth=PractitionerToken(Permission.LA_RECORDS_CORRECT),
             response={200: AmendmentOut, **REFUSALS}, summary="Withdraw a change: the sources' value applies again",
             operation_id="withdraw_amendment")
def withdraw(request: PractitionerRequest, reference: str):
    return _out(amendments.withdraw(request.auth, reference, keyring=get_keyring(), now=timezone.now()))
