"""``GET /api/v1/children`` (search) and ``GET /api/v1/children/{contactpoint_id}`` (record), thin over
``contactpoint.search.service.search`` and ``contactpoint.records.view.view_record``.

Both need a stated reason; both are audited by the domain functions before anything is returned. A shielded
child is found only through its visible fields and shows only them; an unknown, archived or sealed record is
the same 404 (DESIGN.md "Shielding"). Criteria arrive in the query string, as the interface requires: the
service's logs never record query strings (settings.LOGGING), and clients should keep them out of their
own."""

from __future__ import annotations

from django.utils import timezone
from ninja import Query, Router

from contactpoint.access.reasons import parse_reason
from contactpoint.access.roles import Permission
from contactpoint.api.auth import PractitionerRequest, PractitionerToken
from contactpoint.api.records import hit_json, record_json
from contactpoint.api.schemas import Problem, Record, SearchResults
from contactpoint.config import get_settings
from contactpoint.records.view import view_record
from contactpoint.search.criteria import parse_criteria
from contactpoint.search.service import search
from contactpoint.vault.keyring import get_keyring

router = Router(tags=["children"])

REFUSALS = {401: Problem, 403: Problem, 404: Problem, 422: Problem, 429: Problem}
REASON_HELP = ("why you need this: child_protection, common_assessment, referral, education, health, "
               "youth_justice or other (then reason_text, 10 to 200 characters); only those your role may give")


def _q(description: str, max_length: int = 120):
    return Query(None, description=description, max_length=max_length)


@router.get("/children", auth=PractitionerToken(Permission.CHILD_SEARCH),
            response={200: SearchResults, **{k: v for k, v in REFUSALS.items() if k != 404}},
            exclude_none=True, summary="Find a child", operation_id="search_children")
def find(request: PractitionerRequest,
         family: str | None = _q("family name; may end with * after at least 2 letters"),
         given: str | None = _q("given name; may end with * after at least 2 letters"),
         birthdate: str | None = _q("date of birth, YYYY-MM-DD", 10),
         gender: str | None = _q("male, female or not specified", 20),
         postcode: str | None = _q("postcode", 10),
         nhs_number: str | None = _q("NHS number", 14),
         upn: str | None = _q("Unique Pupil Number", 16),
         contactpoint_id: str | None = _q("ContactPoint ID", 16),
         reason: str | None = _q(REASON_HELP, 40),
         reason_text: str | None = _q("required when reason is 'other'", 400)):
    stated = parse_reason(reason, reason_text, role_code=request.auth.role_code)
    now = timezone.now()
    criteria = parse_criteria(family=family or "", given=given or "", birthdate=birthdate,
                              gender=gender or "", postcode=postcode or "", nhs_number=nhs_number or "",
                              upn=upn or "", contactpoint_id=contactpoint_id or "",
                              today=timezone.localdate(now))
    result = search(request.auth, criteria, stated, keyring=get_keyring(), now=now,
                    limits=get_settings().search)
    return {"results": [hit_json(h) for h in result.hits]}


@router.get("/children/{contactpoint_id}", auth=PractitionerToken(Permission.CHILD_VIEW),
            response={200: Record, **REFUSALS}, exclude_none=True, summary="Open a child's record",
            operation_id="get_child")
def record(request: PractitionerRequest, contactpoint_id: str,
           reason: str | None = _q(REASON_HELP, 40),
           reason_text: str | None = _q("required when reason is 'other'", 400)):
    stated = parse_reason(reason, reason_text, role_code=request.auth.role_code)
    now = timezone.now()
    # A mistyped ID and an unknown one read the same, and are audited alike (view_record).
    view = view_record(request.auth, contactpoint_id, stated, keyring=get_keyring(), now=now)
    return record_json(view, today=timezone.localdate(now))
