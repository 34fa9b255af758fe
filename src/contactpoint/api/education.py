"""``GET /api/v1/missing-education``: a data manager's children missing education (contactpoint.lifecycle.education),
the same page of the same list as the web page, audited naming the children returned. Never whereabouts."""

from __future__ import annotations

from datetime import date

from django.utils import timezone
from ninja import Router, Schema

from contactpoint.access.roles import Permission
from contactpoint.api.auth import PractitionerRequest, PractitionerToken
from contactpoint.api.schemas import Problem
from contactpoint.lifecycle import education
from contactpoint.vault.keyring import get_keyring

router = Router(tags=["local authority"])


class MissingChild(Schema):
    contactpoint_id: str
    name: str
    date_of_birth: date
    missing_since: date
    days_missing: int


class MissingEducation(Schema):
    total: int
    page: int
    per_page: int
    children: list[MissingChild]


@router.get("/missing-education", auth=PractitionerToken(Permission.LA_LIFECYCLE_MANAGE),
            response={200: MissingEducation, 401: Problem, 403: Problem, 422: Problem},
            summary="Children missing education", operation_id="missing_education")
def missing_education(request: PractitionerRequest, page: int = 1) -> MissingEducation:
    now = timezone.now()
    page = max(page, 1)
    shown, total = education.missing_page(request.auth, keyring=get_keyring(), now=now, page=page)
    return MissingEducation(total=total, page=page, per_page=education.PAGE_SIZE, children=[
        MissingChild(contactpoint_id=m.cpid, name=m.name, date_of_birth=m.date_of_birth, missing_since=m.since,
                     days_missing=(now.date() - m.since).days) for m in shown])
