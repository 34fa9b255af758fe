"""What the organisation administrators' pages share (``admin_users``, ``admin_organisations``,
``admin_sources``).

Those pages are thin over ``contactpoint.access.administration`` and ``contactpoint.access.sources``: every
rule (scope, who may do what, what is audited) lives there. Here, everything is looked up within the
administrator's scope, so that a user, organisation or key outside it is a 404 and its existence is not
revealed. Every change is a POST, followed by a redirect to a page that shows a one-shot success banner
(``django.contrib.messages``, Post/Redirect/Get), except where a secret is shown once (a temporary password
and PIN, a token's QR code, an API key): those pages are rendered in reply to the POST and never again.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone

from contactpoint.vault.keyring import get_keyring


def redirect_to(name: str, *args: Any) -> HttpResponseRedirect:
    return HttpResponseRedirect(reverse(name, args=args or None))


def now_and_keyring() -> dict[str, Any]:
    return {"now": timezone.now(), "keyring": get_keyring()}


class ReasonForm(forms.Form):
    """Why a change is made (suspending an account or an organisation, revoking access): audited."""

    reason = forms.CharField(label="Reason", max_length=300, widget=forms.Textarea,
                             help_text="This is recorded in the audit trail",
                             error_messages={"required": "Enter the reason",
                                             "max_length": "The reason must be 300 characters or fewer"})
    layout = (("reason", "textarea"),)

