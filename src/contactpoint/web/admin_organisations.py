"""Pages for a local authority's administrators: the organisations it vouches for (schools, GP practices,
voluntary bodies...), accrediting them and suspending or reinstating their accreditation.

Shared with the other administration pages: ``contactpoint.web.admin_common`` (scope, Post/Redirect/Get)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.db.models import Count
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_http_methods

from contactpoint.access import administration as admin_domain
from contactpoint.access.models import Organisation
from contactpoint.access.roles import OrgKind, Permission
from contactpoint.errors import PermissionDenied
from contactpoint.web.admin_common import ReasonForm, now_and_keyring, redirect_to
from contactpoint.web.forms import attempt, posted
from contactpoint.web.guards import SignedInRequest, requires

ORG_KIND_NAMES = {
    OrgKind.LOCAL_AUTHORITY: "Local authority",
    OrgKind.NATIONAL_PARTNER: "National partner",
    OrgKind.SCHOOL: "School",
    OrgKind.FE_COLLEGE: "Further education college",
    OrgKind.HEALTH: "Health (GP practice, NHS trust, health visiting, school nursing)",
    OrgKind.POLICE: "Police force",
    OrgKind.BRITISH_TRANSPORT_POLICE: "British Transport Police",
    OrgKind.PROBATION: "Probation",
    OrgKind.YOUTH_OFFENDING_TEAM: "Youth offending team",
    OrgKind.SECURE_ESTATE: "Prison or secure training centre",
    OrgKind.YOUTH_SUPPORT: "Youth support service (s.114 Learning and Skills Act 2000)",
    OrgKind.VOLUNTARY: "Voluntary organisation",
    OrgKind.CAFCASS: "Cafcass",
    OrgKind.FIRE_RESCUE: "Fire and rescue authority",
    OrgKind.CEOP: "CEOP",
    OrgKind.OPERATOR: "ContactPoint national service team",
}
NATIONALLY_ACCREDITED = (OrgKind.LOCAL_AUTHORITY, OrgKind.NATIONAL_PARTNER, OrgKind.OPERATOR)


def _org_kind_name(kind: str) -> str:
    try:
        return ORG_KIND_NAMES[OrgKind(kind)]
    except ValueError:
        return kind


# --- organisations a local authority vouches for ------------------------------------------------------------

def _vouched(request: SignedInRequest):
    return Organisation.objects.filter(vouched_by_id=request.user.organisation_id)


@requires(Permission.ORG_ORGANISATIONS_VOUCH)
@require_http_methods(["GET"])
def organisations(request: SignedInRequest) -> HttpResponse:
    own = request.user.organisation
    vouched = _vouched(request).annotate(user_count=Count("users")).order_by("name")
    return render(request, "administration/organisations.html", {
        "title": "Organisations", "own": own, "is_la": own.kind == OrgKind.LOCAL_AUTHORITY,
        "organisations": [(o, _org_kind_name(o.kind)) for o in vouched]})


class VouchForm(forms.Form):
    name = forms.CharField(label="Name", max_length=200,
                           error_messages={"required": "Enter the organisation's name"})
    code = forms.CharField(label="Code", max_length=32,
                           help_text="A unique code, for example the school's URN as SCH-100001 or the GP "
                                     "practice code",
                           error_messages={"required": "Enter a code for the organisation"})
    kind = forms.ChoiceField(label="Kind of organisation",
                             choices=[(k.value, ORG_KIND_NAMES[k]) for k in OrgKind
                                      if k not in NATIONALLY_ACCREDITED],
                             error_messages={"required": "Choose the kind of organisation",
                                             "invalid_choice": "Choose the kind of organisation"})


@requires(Permission.ORG_ORGANISATIONS_VOUCH)
@require_http_methods(["GET", "POST"])
def organisation_new(request: SignedInRequest) -> HttpResponse:
    form = VouchForm(posted(request))
    if form.is_valid():
        data = form.cleaned_data
        ok, org = attempt(form, lambda: admin_domain.vouch_for(
            request.user, code=data["code"], name=data["name"], kind=OrgKind(data["kind"]),
            **now_and_keyring()))
        if ok:
            messages.success(request, f"{org.name} ({org.code}) is accredited: you can now add its users")
            return redirect_to("admin-organisations")
    return render(request, "administration/organisation_new.html", {
        "title": "Vouch for an organisation", "form": form, "errors": form.errors,
        "is_la": request.user.organisation.kind == OrgKind.LOCAL_AUTHORITY})


@requires(Permission.ORG_ORGANISATIONS_VOUCH)
@require_http_methods(["GET", "POST"])
def organisation_suspend(request: SignedInRequest, pk: int) -> HttpResponse:
    org = get_object_or_404(_vouched(request), pk=pk)
    form = ReasonForm(posted(request))
    if form.is_valid():
        ok, _ = attempt(form, lambda: admin_domain.suspend_organisation(
            request.user, org, reason=form.cleaned_data["reason"], **now_and_keyring()))
        if ok:
            messages.success(request, f"{org.name}'s accreditation has been suspended")
            return redirect_to("admin-organisations")
    return render(request, "administration/organisation_suspend.html", {
        "title": "Suspend accreditation", "org": org, "form": form, "errors": form.errors})


@requires(Permission.ORG_ORGANISATIONS_VOUCH)
@require_http_methods(["POST"])
def organisation_reinstate(request: SignedInRequest, pk: int) -> HttpResponse:
    org = get_object_or_404(_vouched(request), pk=pk)
    try:
        admin_domain.reinstate_organisation(request.user, org, **now_and_keyring())
    except PermissionDenied:  # the lookup above already confines this to organisations the LA vouched for
        raise Http404 from None
    messages.success(request, f"{org.name}'s accreditation has been reinstated")
    return redirect_to("admin-organisations")

