"""Pages for administrators of source systems (the systems that send feeds): registering a system, and
issuing, rotating and revoking its API keys.

Shared with the other administration pages: ``contactpoint.web.admin_common`` (scope, Post/Redirect/Get)."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib import messages
from django.db.models import Q
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from contactpoint.access import administration as admin_domain
from contactpoint.access import sources as source_domain
from contactpoint.access.models import Organisation, SourceKey, SourceSystem, User
from contactpoint.access.roles import SOURCE_SCOPES, Permission
from contactpoint.vault.keyring import get_keyring
from contactpoint.web.admin_common import now_and_keyring, redirect_to
from contactpoint.web.forms import attempt, posted
from contactpoint.web.guards import SignedInRequest, requires

SOURCE_KIND_NAMES = {
    "school_census": "School census",
    "gp_registrations": "GP registrations",
    "child_benefit": "Child benefit",
    "la_social_care": "Local authority social care system",
    "health": "Health system",
    "other": "Other",
}
SCOPE_NAMES = {
    Permission.FEED_SUBMIT: "Submit feeds",
    Permission.FEED_DISCREPANCIES: "Read its discrepancy reports",
}


# --- source systems and their keys --------------------------------------------------------------------------

def _sources_in_scope(request: SignedInRequest):
    return SourceSystem.objects.filter(
        organisation__in=admin_domain.organisations_in_scope(request.user)).select_related("organisation")


def key_state(key: SourceKey, now) -> tuple[str, str]:
    """A tag (text, colour) for a key, as ``authenticate_source`` would treat it now."""
    if key.revoked_at:
        return "Revoked", "govuk-tag--red"
    if key.expires_at and key.expires_at <= now:
        return "Expired", "govuk-tag--grey"
    if key.expires_at and key.expires_at - now <= source_domain.ROTATION_GRACE:
        return "Being replaced", "govuk-tag--yellow"
    return "Live", "govuk-tag--green"


@requires(Permission.ORG_SOURCES_MANAGE)
@require_http_methods(["GET"])
def sources(request: SignedInRequest) -> HttpResponse:
    now = timezone.now()
    systems = []
    for source in _sources_in_scope(request).prefetch_related("keys"):
        keys = sorted(source.keys.all(), key=lambda k: k.created_at, reverse=True)
        systems.append({
            "source": source, "kind": SOURCE_KIND_NAMES.get(source.kind, source.kind),
            "keys": [{"key": k, "state": key_state(k, now),
                      "scopes": ", ".join(SCOPE_NAMES.get(Permission(s), s) for s in k.scopes)}
                     for k in keys],
            "has_live_key": any(k.revoked_at is None and (k.expires_at is None or k.expires_at > now)
                                for k in keys)})
    return render(request, "administration/sources.html", {
        "title": "Source systems", "systems": systems})


class SourceForm(forms.Form):
    name = forms.CharField(label="Name", max_length=200,
                           error_messages={"required": "Enter the source system's name"})
    code = forms.CharField(label="Code", max_length=64,
                           help_text="Lower-case letters, numbers and hyphens, for example "
                                     "camden-social-care",
                           error_messages={"required": "Enter a code for the source system"})
    kind = forms.ChoiceField(label="Kind of source", choices=[(k, SOURCE_KIND_NAMES.get(k, k))
                                                              for k in source_domain.SOURCE_KINDS],
                             error_messages={"required": "Choose the kind of source",
                                             "invalid_choice": "Choose the kind of source"})
    organisation = forms.ChoiceField(label="Organisation that runs it",
                                     error_messages={"required": "Choose the organisation",
                                                     "invalid_choice": "Choose the organisation"})

    def __init__(self, admin: User, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.organisations = list(admin_domain.organisations_in_scope(admin).order_by("name"))
        cast(forms.ChoiceField, self.fields["organisation"]).choices = [
            (str(o.pk), f"{o.name} ({o.code})") for o in self.organisations]
        self.fields["organisation"].initial = str(admin.organisation_id)

    def chosen_organisation(self) -> Organisation:
        """Once the form is valid: one of ``self.organisations`` (the field's choices) was chosen."""
        return next(o for o in self.organisations if str(o.pk) == self.cleaned_data["organisation"])


@requires(Permission.ORG_SOURCES_MANAGE)
@require_http_methods(["GET", "POST"])
def source_new(request: SignedInRequest) -> HttpResponse:
    form = SourceForm(request.user, posted(request))
    if form.is_valid():
        data = form.cleaned_data
        ok, source = attempt(form, lambda: source_domain.register_source(
            request.user, code=data["code"], name=data["name"], kind=data["kind"],
            organisation=form.chosen_organisation(), **now_and_keyring()))
        if ok:
            messages.success(request, f"{source.name} has been registered: issue it a key")
            return redirect_to("admin-sources")
    return render(request, "administration/source_new.html", {
        "title": "Register a source system", "form": form, "errors": form.errors})


class KeyForm(forms.Form):
    scopes = forms.MultipleChoiceField(
        label="What the key may do", choices=[(str(s), SCOPE_NAMES[s]) for s in sorted(SOURCE_SCOPES)],
        initial=[str(s) for s in sorted(SOURCE_SCOPES)],
        error_messages={"required": "Choose what the key may do"})


@requires(Permission.ORG_SOURCES_MANAGE)
@require_http_methods(["GET", "POST"])
def source_key_new(request: SignedInRequest, pk: int) -> HttpResponse:
    """Issue a key (or rotate: the live keys keep working for 7 more days). The token is shown this once."""
    source = get_object_or_404(_sources_in_scope(request), pk=pk)
    form = KeyForm(posted(request))
    now = timezone.now()
    live = source.keys.filter(revoked_at__isnull=True).filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=now)).exists()
    if form.is_valid():
        scopes = frozenset(Permission(s) for s in form.cleaned_data["scopes"])
        ok, issued = attempt(form, lambda: source_domain.issue_key(request.user, source, scopes=scopes,
                                                                    now=now, keyring=get_keyring()))
        if ok:
            return render(request, "administration/key_issued.html", {
                "title": "API key issued", "source": source, "issued": issued,
                "grace_days": source_domain.ROTATION_GRACE.days})
    return render(request, "administration/key_new.html", {
        "title": "Rotate the API key" if live else "Issue an API key", "source": source, "form": form,
        "errors": form.errors, "rotating": live, "grace_days": source_domain.ROTATION_GRACE.days})


@requires(Permission.ORG_SOURCES_MANAGE)
@require_http_methods(["POST"])
def source_key_revoke(request: SignedInRequest, pk: int) -> HttpResponse:
    key = get_object_or_404(SourceKey.objects.select_related("source__organisation").filter(
        source__in=_sources_in_scope(request)), pk=pk)
    if key.revoked_at is None:
        source_domain.revoke_key(request.user, key, **now_and_keyring())
        messages.success(request, f"Key {key.prefix} of {key.source.name} has been revoked: it is refused "
                                  "from now on")
    else:
        messages.success(request, f"Key {key.prefix} of {key.source.name} was already revoked")
    return redirect_to("admin-sources")
