"""A user's own pages: the home page, their account's status and history, changing password and PIN, signing
the acceptable use policy, and adding a security key."""

from __future__ import annotations

from django import forms
from django.db.models import Q
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods
from django_otp_webauthn.models import WebAuthnCredential
from django_otp_webauthn.templatetags.otp_webauthn import get_configuration

from contactpoint.access import preconditions, sessions
from contactpoint.access.administration import change_credentials, record_policy_signature
from contactpoint.access.models import PolicyVersion
from contactpoint.access.roles import Permission
from contactpoint.audit.models import AuditEntry
from contactpoint.children.identifiers import format_contactpoint_id
from contactpoint.errors import ValidationError
from contactpoint.records.brokering import own_requests
from contactpoint.records.involvements import current_entries
from contactpoint.records.notifications import unread_count
from contactpoint.vault.keyring import get_keyring
from contactpoint.web.forms import apply_error, posted
from contactpoint.web.guards import SignedInRequest, requires
from contactpoint.web.homes import homes

ACCOUNT_ACTIONS = ("auth.", "admin.user.", "admin.access.", "admin.clearance.", "admin.training.",
                   "admin.policy.signed", "admin.role.")


@requires(Permission.SELF_ACCOUNT)
@require_http_methods(["GET"])
def home(request: SignedInRequest) -> HttpResponse:
    user = request.user
    # What is waiting for each role the user holds (data manager, auditor, administrator, operator): web.homes.
    context: dict = {"title": "ContactPoint", "format_cpid": format_contactpoint_id,
                     "homes": homes(user, today=timezone.localdate(), now=timezone.now())}
    if user.has(Permission.CHILD_INVOLVEMENT):  # a practitioner starts from the children they work with
        context.update(entries=current_entries(user, keyring=get_keyring(), today=timezone.localdate()),
                       unread=unread_count(user), requests=own_requests(user))
    return render(request, "account/home.html", context)


def account_history(username: str, limit: int = 50) -> list[AuditEntry]:
    """Everything that happened to an account: sign-ins and failures, grants, changes (never child data)."""
    entries = AuditEntry.objects.filter(Q(target_user=username) | Q(actor=username))
    wanted = Q()
    for prefix in ACCOUNT_ACTIONS:
        wanted |= Q(action__startswith=prefix)
    return list(entries.filter(wanted).order_by("-seq")[:limit])


@requires(Permission.SELF_ACCOUNT)
@require_http_methods(["GET"])
def account(request: SignedInRequest) -> HttpResponse:
    user = request.user
    today = timezone.localdate()
    return render(request, "account/account.html", {
        "title": "Your account", "subject": user, "lapses": preconditions.lapses(user, today),
        "clearance_expires": preconditions.clearance_expires(user),
        "history": account_history(user.username), "policy_version": preconditions.current_policy_version(),
    })


class CredentialsForm(forms.Form):
    current_password = forms.CharField(label="Current password", strip=False,
                                       error_messages={"required": "Enter your current password"})
    new_password = forms.CharField(label="New password", strip=False,
                                   help_text="At least 12 characters; not a common password",
                                   error_messages={"required": "Enter a new password"})
    new_pin = forms.CharField(label="New PIN", help_text="6 to 8 digits, separate from your password",
                              error_messages={"required": "Enter a new PIN"})


# Reached while a credential change is owed: the guard lets a signed-in user through; the middleware sends
# them here before anything else.
@requires(Permission.SELF_ACCOUNT)
@require_http_methods(["GET", "POST"])
def credentials(request: SignedInRequest) -> HttpResponse:
    form = CredentialsForm(posted(request))
    if form.is_valid():
        try:
            change_credentials(request.user, now=timezone.now(), keyring=get_keyring(), **form.cleaned_data)
        except ValidationError as error:
            apply_error(form, error)
        else:
            # Changing credentials ends every session, this one included: sign in with the new ones.
            sessions.end(request, "account_changed", timezone.now())
            return HttpResponseRedirect(reverse("signed-out"))
    return render(request, "account/credentials.html", {
        "title": "Set your password and PIN", "form": form,
        "first_time": request.user.must_change_credentials})


class PolicyForm(forms.Form):
    agree = forms.BooleanField(
        label="I have read the acceptable use policy and agree to it",
        error_messages={"required": "Confirm that you agree to the acceptable use policy"})


@requires(Permission.SELF_ACCOUNT)
@require_http_methods(["GET", "POST"])
def policy(request: SignedInRequest) -> HttpResponse:
    current = PolicyVersion.objects.order_by("-version").first()
    form = PolicyForm(posted(request))
    if form.is_valid() and current is not None:
        record_policy_signature(request.user, request.user, version=current.version, now=timezone.now(),
                                keyring=get_keyring())
        sessions.policy_signed(request)
        return HttpResponseRedirect(reverse("home"))
    return render(request, "account/policy.html", {"title": "Acceptable use policy", "policy": current,
                                                    "form": form,
                                                    "signed": (request.user.policy_version_signed or 0)})


@requires(Permission.SELF_ACCOUNT)
@require_http_methods(["GET"])
def security_key(request: SignedInRequest) -> HttpResponse:
    """Register a WebAuthn security key, to use instead of the token's code when signing in."""
    scripts = render_to_string("django_otp_webauthn/register_scripts.html",
                               {"configuration": get_configuration(request)}, request=request, using="django")
    keys = WebAuthnCredential.objects.filter(user=request.user, confirmed=True)
    return render(request, "account/security_key.html", {"title": "Security keys", "scripts": scripts,
                                                          "keys": keys})
