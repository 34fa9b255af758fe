"""A practitioner's notifications (records.notifications): thin page; reading them is audited there."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from contactpoint.access.roles import Permission
from contactpoint.children.identifiers import format_contactpoint_id
from contactpoint.records.notifications import notifications_for
from contactpoint.vault.keyring import get_keyring
from contactpoint.web.guards import SignedInRequest, requires


@requires(Permission.CHILD_INVOLVEMENT)
@require_http_methods(["GET"])
def notifications(request: SignedInRequest) -> HttpResponse:
    shown = notifications_for(request.user, keyring=get_keyring(), now=timezone.now())
    return render(request, "notifications/list.html", {"title": "Notifications", "notifications": shown,
                                                        "format_cpid": format_contactpoint_id})
