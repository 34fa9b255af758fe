"""``POST /api/v1/session`` and ``DELETE /api/v1/session``: bearer tokens for case-management systems acting
for a practitioner, thin over ``contactpoint.access.api_sessions``.

The practitioner's own password, PIN and TOTP code open a session. Whatever is wrong the answer is the same
401 with the same words, and ten failures lock the username for 30 minutes, exactly as on the sign-in page
(``contactpoint.access.authentication``)."""

from __future__ import annotations

from datetime import timedelta

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import Router
from ninja.responses import Status

from contactpoint.access.api_sessions import close_session, open_session
from contactpoint.access.authentication import user_actor
from contactpoint.access.roles import Permission
from contactpoint.api.auth import PractitionerRequest, PractitionerToken
from contactpoint.api.schemas import Problem, SessionOpened, SessionRequest
from contactpoint.audit.actions import AuditAction
from contactpoint.audit.trail import record_event
from contactpoint.config import get_settings
from contactpoint.vault.keyring import get_keyring
from contactpoint.web.middleware import client_ip

router = Router(tags=["session"])


@router.post("/session", auth=None,
             response={201: SessionOpened, 400: Problem, 401: Problem, 403: Problem, 422: Problem},
             summary="Open a session for a practitioner", operation_id="open_session")
def open_(request: HttpRequest, body: SessionRequest):
    now = timezone.now()
    token, session = open_session(body.username, body.password, body.pin, body.otp, now=now,
                                  keyring=get_keyring(), ip=client_ip(request))
    limits = get_settings().session
    return Status(201, {"token": token, "idle_minutes": limits.idle_minutes,
                 "expires_at": (session.created_at + timedelta(hours=limits.absolute_hours)).isoformat()})


@router.delete("/session", auth=PractitionerToken(Permission.SELF_ACCOUNT),
               response={204: None, 401: Problem, 403: Problem}, summary="End the session",
               operation_id="close_session")
def close(request: PractitionerRequest):
    now = timezone.now()
    close_session(request.api_token, now=now)
    record_event(AuditAction.LOGOUT, actor=user_actor(request.auth), keyring=get_keyring(), at=now,
                 target_user=request.auth.username, context={"why": "signed_out", "api": True})
    return HttpResponse(status=204)
