"""Pages for organisation administrators: finding users and managing their access, the organisations a local
authority vouches for, and source systems with their API keys.

Thin over ``contactpoint.access.administration`` and ``contactpoint.access.sources``: every rule (scope, who
may do what, what is audited) lives there. Here, everything is looked up within the administrator's scope, so
that a user, organisation or key outside it is a 404 and its existence is not revealed. Every change is a
POST, followed by a redirect to a page that shows a one-shot success banner (Post/Redirect/Get), except where
a secret is shown once (a temporary password and PIN, a token's QR code, an API key): those pages are
rendered in reply to the POST and never again.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_http_methods

from contactpoint.access import administration as admin_domain
from contactpoint.access import preconditions
from contactpoint.access import sources as source_domain
from contactpoint.access.models import Organisation, PolicyVersion, SourceKey, SourceSystem, User
from contactpoint.access.roles import ROLES, SOURCE_SCOPES, OrgKind, Permission
from contactpoint.errors import PermissionDenied
from contactpoint.vault.keyring import get_keyring
from contactpoint.web.account import account_history
from contactpoint.web.forms import GovukDateField, attempt, posted
from contactpoint.web.guards import requires

PAGE_SIZE = 50

def _redirect(name: str, *args: Any) -> HttpResponseRedirect:
    return HttpResponseRedirect(reverse(name, args=args or None))


# --- words --------------------------------------------------------------------------------------------------

LAPSE_SHORT = {
    "organisation_accredited": "organisation suspended",
    "access_granted": "access not granted",
    "account_active": "account suspended",
    "clearance_current": "clearance not current",
    "training_completed": "training not recorded",
    "policy_signed": "policy not signed",
    "second_factor_enrolled": "no security token",
}

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


def _org_kind_name(kind: str) -> str:
    try:
        return ORG_KIND_NAMES[OrgKind(kind)]
    except ValueError:
        return kind


# --- finding users ------------------------------------------------------------------------------------------

STATUSES = (("all", "All users"), ("ok", "Can use ContactPoint"), ("lapsed", "Something has lapsed"))


class UserSearchForm(forms.Form):
    q = forms.CharField(label="Name or username", required=False, max_length=100)
    status = forms.ChoiceField(label="Status", choices=STATUSES, required=False, initial="all",
                               error_messages={"invalid_choice": "Choose a status"})


@requires(Permission.ORG_USERS_VIEW)
@require_http_methods(["GET"])
def users(request: HttpRequest) -> HttpResponse:
    form = UserSearchForm(request.GET or None)
    query, status = "", "all"
    if form.is_bound and form.is_valid():
        query, status = form.cleaned_data["q"].strip(), form.cleaned_data["status"] or "all"
    in_scope = admin_domain.users_in_scope(request.user).select_related("organisation__vouched_by")
    found = in_scope.order_by("full_name", "username")
    if query:
        found = found.filter(Q(full_name__icontains=query) | Q(username__icontains=query))
    today = timezone.localdate()
    policy_version = preconditions.current_policy_version()

    def with_lapses(people) -> list[tuple[User, list]]:
        return [(u, preconditions.lapses(u, today, policy_version=policy_version)) for u in people]

    if status == "all":
        page = Paginator(found, PAGE_SIZE).get_page(request.GET.get("page"))
        rows = with_lapses(page.object_list)
    else:
        # Whether someone can use ContactPoint is decided by the preconditions module alone, user by user.
        matching = [(u, lapsed) for u, lapsed in with_lapses(found) if bool(lapsed) == (status == "lapsed")]
        page = Paginator(matching, PAGE_SIZE).get_page(request.GET.get("page"))
        rows = list(page.object_list)

    def page_href(number: int) -> str:
        return "?" + urlencode({"q": query, "status": status, "page": number})

    return render(request, "administration/users.html", {
        "title": "Users", "form": form, "errors": form.errors, "rows": rows, "page": page, "query": query,
        "status": status, "total": page.paginator.count, "any_users": in_scope.exists(),
        "previous_href": page_href(page.previous_page_number()) if page.has_previous() else None,
        "next_href": page_href(page.next_page_number()) if page.has_next() else None,
        "lapse_short": LAPSE_SHORT,
        "can_manage": request.user.has(Permission.ORG_USERS_MANAGE),
    })


# --- creating a user ----------------------------------------------------------------------------------------

class NewUserForm(forms.Form):
    full_name = forms.CharField(label="Full name", max_length=200,
                                error_messages={"required": "Enter the person's full name"})
    username = forms.CharField(label="Username", max_length=150,
                               help_text="Letters, numbers, dots, hyphens and underscores, for example "
                                         "jo.bloggs",
                               error_messages={"required": "Enter a username"})
    email = forms.EmailField(label="Email address", required=False, max_length=254,
                             error_messages={"invalid": "Enter an email address in the correct format, like "
                                                        "name@example.gov.uk"})
    job_title = forms.CharField(label="Job title", required=False, max_length=200)
    organisation = forms.ChoiceField(label="Organisation",
                                     error_messages={"required": "Choose the person's organisation",
                                                     "invalid_choice": "Choose the person's organisation"})
    role = forms.ChoiceField(label="Role", help_text="What the person does, as the regulations describe it",
                             error_messages={"required": "Choose the person's role",
                                             "invalid_choice": "Choose the person's role"})

    def __init__(self, admin: User, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.organisations = list(admin_domain.organisations_in_scope(admin).order_by("name"))
        kinds = {OrgKind(o.kind) for o in self.organisations}
        self.fields["organisation"].choices = [("", "Choose an organisation")] + [
            (str(o.pk), f"{o.name} ({o.code})") for o in self.organisations]
        if len(self.organisations) == 1:
            self.fields["organisation"].initial = str(self.organisations[0].pk)
        self.fields["role"].choices = [("", "Choose a role")] + [
            (r.code, r.title) for r in ROLES if r.org_kinds & kinds]

    def chosen_organisation(self) -> Organisation | None:
        return next((o for o in self.organisations if str(o.pk) == self.cleaned_data["organisation"]), None)


@requires(Permission.ORG_USERS_MANAGE)
@require_http_methods(["GET", "POST"])
def user_new(request: HttpRequest) -> HttpResponse:
    form = NewUserForm(request.user, posted(request))
    if form.is_valid():
        data = form.cleaned_data
        ok, account = attempt(form, lambda: admin_domain.create_user(
            request.user, username=data["username"], full_name=data["full_name"],
            organisation=form.chosen_organisation(), role_code=data["role"], email=data["email"],
            job_title=data["job_title"], now=timezone.now(), keyring=get_keyring()))
        if ok:
            # Rendered, not redirected: the temporary password and PIN are shown this once.
            return render(request, "administration/credentials_issued.html", {
                "title": "Account created", "heading": "Account created", "account": account,
                "subject": account.user, "new_account": True})
    return render(request, "administration/user_new.html", {"title": "Add a user", "form": form,
                                                             "errors": form.errors})


# --- a user's page ------------------------------------------------------------------------------------------

def _subject(request: HttpRequest, pk: int) -> User:
    """The user ``pk``, if the administrator's scope holds them; otherwise a 404 (never a 403)."""
    in_scope = admin_domain.users_in_scope(request.user).select_related("organisation__vouched_by")
    return get_object_or_404(in_scope, pk=pk)


def _user_page(request: HttpRequest, subject: User, error: str | None = None) -> HttpResponse:
    today = timezone.localdate()
    return render(request, "administration/user.html", {
        "title": subject.full_name, "subject": subject, "lapses": preconditions.lapses(subject, today),
        "clearance_expires": preconditions.clearance_expires(subject),
        "policy_version": preconditions.current_policy_version(),
        "history": account_history(subject.username),
        "error": error, "errors": [error] if error else [],
        "is_self": subject.pk == request.user.pk, "can_manage": request.user.has(Permission.ORG_USERS_MANAGE),
    })


@requires(Permission.ORG_USERS_VIEW)
@require_http_methods(["GET"])
def user(request: HttpRequest, pk: int) -> HttpResponse:
    return _user_page(request, _subject(request, pk))


def _button_action(request: HttpRequest, pk: int, act: Callable[[User, User], None],
                   done: str) -> HttpResponse:
    """A change made with one button on the user's page."""
    subject = _subject(request, pk)
    try:
        act(request.user, subject)
    except PermissionDenied as error:
        return _user_page(request, subject, error.message)
    messages.success(request, done.format(name=subject.full_name))
    return _redirect("admin-user", subject.pk)


@requires(Permission.ORG_USERS_MANAGE)
@require_http_methods(["POST"])
def user_grant(request: HttpRequest, pk: int) -> HttpResponse:
    return _button_action(request, pk, lambda admin, subject: admin_domain.grant_access(
        admin, subject, now=timezone.now(), keyring=get_keyring()), "{name} has been granted access")


@requires(Permission.ORG_USERS_MANAGE)
@require_http_methods(["POST"])
def user_reinstate(request: HttpRequest, pk: int) -> HttpResponse:
    return _button_action(request, pk, lambda admin, subject: admin_domain.reinstate_user(
        admin, subject, now=timezone.now(), keyring=get_keyring()), "{name}'s account has been reinstated")


@requires(Permission.ORG_USERS_MANAGE)
@require_http_methods(["POST"])
def user_unlock(request: HttpRequest, pk: int) -> HttpResponse:
    return _button_action(request, pk, lambda admin, subject: admin_domain.unlock(
        admin, subject, now=timezone.now(), keyring=get_keyring()), "Sign-in has been unlocked for {name}")


# --- actions with a small form of their own -----------------------------------------------------------------

class ReasonForm(forms.Form):
    reason = forms.CharField(label="Reason", max_length=300, widget=forms.Textarea,
                             help_text="This is recorded in the audit trail",
                             error_messages={"required": "Enter the reason",
                                             "max_length": "The reason must be 300 characters or fewer"})
    layout = (("reason", "textarea"),)


class ClearanceForm(forms.Form):
    cleared_on = GovukDateField(label="Date of the clearance certificate",
                                error_messages={"required": "Enter the date of the clearance certificate"})
    reference = forms.CharField(label="Certificate number or vetting reference", max_length=64,
                                help_text="The enhanced DBS certificate number, or the police vetting "
                                          "reference",
                                error_messages={
                                    "required": "Enter the certificate number or vetting reference",
                                    "max_length": "The reference must be 64 characters or fewer"})
    layout = (("cleared_on", "date"), ("reference", "text"))


class TrainingForm(forms.Form):
    completed_on = GovukDateField(label="Date the training was completed",
                             error_messages={"required": "Enter the date the training was completed"})
    layout = (("completed_on", "date"),)


class PolicySignatureForm(forms.Form):
    version = forms.TypedChoiceField(label="Version of the acceptable use policy signed", coerce=int,
                                     error_messages={"required": "Choose the version that was signed",
                                                     "invalid_choice": "Choose the version that was signed"})
    layout = (("version", "select"),)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        versions = list(PolicyVersion.objects.order_by("-version"))
        self.fields["version"].choices = [
            (v.version, f"Version {v.version}, published {v.published_at:%-d %B %Y}") for v in versions]
        if versions:
            self.fields["version"].initial = versions[0].version


class ConfirmForm(forms.Form):
    layout = ()


@dataclass(frozen=True)
class UserAction:
    heading: str
    button: str
    form: type[forms.Form]
    run: Callable[[User, User, dict], None]
    done: str  # the success banner; {name} is the user's name
    intro: str = ""
    warning: str = ""
    secondary: bool = False


def _action_page(request: HttpRequest, pk: int, action: UserAction) -> HttpResponse:
    subject = _subject(request, pk)
    form = action.form(posted(request))
    if form.is_valid():
        ok, _ = attempt(form, lambda: action.run(request.user, subject, form.cleaned_data))
        if ok:
            messages.success(request, action.done.format(name=subject.full_name))
            return _redirect("admin-user", subject.pk)
    return render(request, "administration/user_action.html", {
        "title": action.heading, "action": action, "form": form, "errors": form.errors, "subject": subject})


def _now_and_keyring() -> dict[str, Any]:
    return {"now": timezone.now(), "keyring": get_keyring()}


REVOKE = UserAction(
    "Revoke access", "Revoke access", ReasonForm,
    lambda admin, subject, data: admin_domain.revoke_access(admin, subject, reason=data["reason"],
                                                            **_now_and_keyring()),
    "{name}'s access has been revoked",
    intro="The person will be signed out at once and cannot use ContactPoint until access is granted again.")

SUSPEND = UserAction(
    "Suspend the account", "Suspend the account", ReasonForm,
    lambda admin, subject, data: admin_domain.suspend_user(admin, subject, reason=data["reason"],
                                                           **_now_and_keyring()),
    "{name}'s account has been suspended",
    intro="Suspend an account while something is looked into. The person is signed out at once; reinstating "
          "the account lets them sign in again.")

CLEARANCE = UserAction(
    "Record enhanced clearance", "Record the clearance", ClearanceForm,
    lambda admin, subject, data: admin_domain.record_clearance(
        admin, subject, cleared_on=data["cleared_on"], reference=data["reference"],
        today=timezone.localdate(), **_now_and_keyring()),
    "{name}'s clearance has been recorded",
    intro="Enhanced criminal records clearance lasts 3 years from the date of the certificate.")

TRAINING = UserAction(
    "Record training", "Record the training", TrainingForm,
    lambda admin, subject, data: admin_domain.record_training(
        admin, subject, completed_on=data["completed_on"], today=timezone.localdate(), **_now_and_keyring()),
    "{name}'s training has been recorded",
    intro="Record that the person has completed the compulsory ContactPoint training.")

POLICY = UserAction(
    "Record a signed acceptable use policy", "Record the signature", PolicySignatureForm,
    lambda admin, subject, data: admin_domain.record_policy_signature(admin, subject, version=data["version"],
                                                                      **_now_and_keyring()),
    "{name}'s signature of the acceptable use policy has been recorded",
    intro="Use this when the person has signed a paper copy of the policy. Keep the signed copy.")

RESET_TOKENS = UserAction(
    "Reset security tokens", "Reset security tokens", ConfirmForm,
    lambda admin, subject, data: admin_domain.reset_tokens(admin, subject, **_now_and_keyring()),
    "{name}'s security tokens have been removed",
    intro="Do this when a token or security key is lost or stolen.",
    warning="Every token and security key of this person is removed and they are signed out. They cannot "
            "sign in again until you enrol a new token for them.")


@requires(Permission.ORG_USERS_MANAGE)
@require_http_methods(["GET", "POST"])
def user_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    return _action_page(request, pk, REVOKE)


@requires(Permission.ORG_USERS_MANAGE)
@require_http_methods(["GET", "POST"])
def user_suspend(request: HttpRequest, pk: int) -> HttpResponse:
    return _action_page(request, pk, SUSPEND)


@requires(Permission.ORG_USERS_MANAGE)
@require_http_methods(["GET", "POST"])
def user_clearance(request: HttpRequest, pk: int) -> HttpResponse:
    return _action_page(request, pk, CLEARANCE)


@requires(Permission.ORG_USERS_MANAGE)
@require_http_methods(["GET", "POST"])
def user_training(request: HttpRequest, pk: int) -> HttpResponse:
    return _action_page(request, pk, TRAINING)


@requires(Permission.ORG_USERS_MANAGE)
@require_http_methods(["GET", "POST"])
def user_policy(request: HttpRequest, pk: int) -> HttpResponse:
    return _action_page(request, pk, POLICY)


@requires(Permission.ORG_USERS_MANAGE)
@require_http_methods(["GET", "POST"])
def user_tokens_reset(request: HttpRequest, pk: int) -> HttpResponse:
    return _action_page(request, pk, RESET_TOKENS)


@requires(Permission.ORG_USERS_MANAGE)
@require_http_methods(["GET", "POST"])
def user_credentials_reset(request: HttpRequest, pk: int) -> HttpResponse:
    """New temporary password and PIN; shown once, in reply to the POST."""
    subject = _subject(request, pk)
    form = ConfirmForm(posted(request))
    if form.is_valid():
        ok, account = attempt(form, lambda: admin_domain.reset_credentials(request.user, subject,
                                                                            **_now_and_keyring()))
        if ok:
            return render(request, "administration/credentials_issued.html", {
                "title": "New password and PIN", "heading": "New password and PIN", "account": account,
                "subject": subject, "new_account": False})
    action = UserAction(
        "Reset password and PIN", "Reset password and PIN", ConfirmForm, lambda *_: None, "",
        intro="Use this when the person has forgotten their password or PIN. You will see a new temporary "
              "password and PIN once, to give them in person.",
        warning="Their current password and PIN stop working and they are signed out.")
    return render(request, "administration/user_action.html", {
        "title": action.heading, "action": action, "form": form, "errors": form.errors, "subject": subject})


# --- enrolling a TOTP token ---------------------------------------------------------------------------------

class TokenCodeForm(forms.Form):
    code = forms.CharField(label="Code shown on the token", max_length=10,
                           help_text="The 6 digits the token or authenticator app shows now",
                           error_messages={"required": "Enter the code shown on the token"})


_STYLE = re.compile(r"\sstyle=\"[^\"]*\"")


def qr_svg(data: str) -> str:
    """``data`` as a QR code: an inline SVG with no style attribute (the CSP allows no inline styles)."""
    import qrcode
    from qrcode.image.svg import SvgPathImage

    image = qrcode.make(data, image_factory=SvgPathImage, box_size=10, border=4)
    svg = image.to_string(encoding="unicode")
    svg = re.sub(r"^<\?xml[^>]*\?>\s*", "", svg)
    svg = _STYLE.sub("", svg)
    return svg.replace("<svg ", '<svg class="app-qr-code" role="img" '
                                 'aria-label="QR code for the authenticator app" focusable="false" ', 1)


@requires(Permission.ORG_USERS_MANAGE)
@require_http_methods(["GET", "POST"])
def user_token(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: what enrolment involves. POST: a new unconfirmed token; its QR code and secret are shown this
    once, with the form that confirms it."""
    subject = _subject(request, pk)
    form = ConfirmForm(posted(request))
    if form.is_valid():
        ok, enrolment = attempt(form, lambda: admin_domain.begin_totp_enrolment(request.user, subject,
                                                                                 **_now_and_keyring()))
        if ok:
            key = enrolment.secret_base32
            secret = " ".join(key[i:i + 4] for i in range(0, len(key), 4))
            return render(request, "administration/token_confirm.html", {
                "title": "Enrol a security token", "subject": subject, "form": TokenCodeForm(), "errors": {},
                "qr": qr_svg(enrolment.uri), "secret": secret})
    return render(request, "administration/token_begin.html", {
        "title": "Enrol a security token", "subject": subject, "form": form, "errors": form.errors})


@requires(Permission.ORG_USERS_MANAGE)
@require_http_methods(["POST"])
def user_token_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    subject = _subject(request, pk)
    form = TokenCodeForm(posted(request))
    if form.is_valid():
        ok, _ = attempt(form, lambda: admin_domain.confirm_totp_enrolment(
            request.user, subject, code=form.cleaned_data["code"], **_now_and_keyring()))
        if ok:
            messages.success(request, f"A security token has been enrolled for {subject.full_name}")
            return _redirect("admin-user", subject.pk)
    # The QR code is not shown again: if the token was not set up, start again for a new one.
    return render(request, "administration/token_confirm.html", {
        "title": "Enrol a security token", "subject": subject, "form": form, "errors": form.errors,
        "qr": None, "secret": None})


# --- organisations a local authority vouches for ------------------------------------------------------------

def _vouched(request: HttpRequest):
    return Organisation.objects.filter(vouched_by_id=request.user.organisation_id)


@requires(Permission.ORG_ORGANISATIONS_VOUCH)
@require_http_methods(["GET"])
def organisations(request: HttpRequest) -> HttpResponse:
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
def organisation_new(request: HttpRequest) -> HttpResponse:
    form = VouchForm(posted(request))
    if form.is_valid():
        data = form.cleaned_data
        ok, org = attempt(form, lambda: admin_domain.vouch_for(
            request.user, code=data["code"], name=data["name"], kind=OrgKind(data["kind"]),
            **_now_and_keyring()))
        if ok:
            messages.success(request, f"{org.name} ({org.code}) is accredited: you can now add its users")
            return _redirect("admin-organisations")
    return render(request, "administration/organisation_new.html", {
        "title": "Vouch for an organisation", "form": form, "errors": form.errors,
        "is_la": request.user.organisation.kind == OrgKind.LOCAL_AUTHORITY})


@requires(Permission.ORG_ORGANISATIONS_VOUCH)
@require_http_methods(["GET", "POST"])
def organisation_suspend(request: HttpRequest, pk: int) -> HttpResponse:
    org = get_object_or_404(_vouched(request), pk=pk)
    form = ReasonForm(posted(request))
    if form.is_valid():
        ok, _ = attempt(form, lambda: admin_domain.suspend_organisation(
            request.user, org, reason=form.cleaned_data["reason"], **_now_and_keyring()))
        if ok:
            messages.success(request, f"{org.name}'s accreditation has been suspended")
            return _redirect("admin-organisations")
    return render(request, "administration/organisation_suspend.html", {
        "title": "Suspend accreditation", "org": org, "form": form, "errors": form.errors})


@requires(Permission.ORG_ORGANISATIONS_VOUCH)
@require_http_methods(["POST"])
def organisation_reinstate(request: HttpRequest, pk: int) -> HttpResponse:
    org = get_object_or_404(_vouched(request), pk=pk)
    try:
        admin_domain.reinstate_organisation(request.user, org, **_now_and_keyring())
    except PermissionDenied:  # the lookup above already confines this to organisations the LA vouched for
        raise Http404 from None
    messages.success(request, f"{org.name}'s accreditation has been reinstated")
    return _redirect("admin-organisations")


# --- source systems and their keys --------------------------------------------------------------------------

def _sources_in_scope(request: HttpRequest):
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
def sources(request: HttpRequest) -> HttpResponse:
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
        self.fields["organisation"].choices = [(str(o.pk), f"{o.name} ({o.code})")
                                               for o in self.organisations]
        self.fields["organisation"].initial = str(admin.organisation_id)

    def chosen_organisation(self) -> Organisation | None:
        return next((o for o in self.organisations if str(o.pk) == self.cleaned_data["organisation"]), None)


@requires(Permission.ORG_SOURCES_MANAGE)
@require_http_methods(["GET", "POST"])
def source_new(request: HttpRequest) -> HttpResponse:
    form = SourceForm(request.user, posted(request))
    if form.is_valid():
        data = form.cleaned_data
        ok, source = attempt(form, lambda: source_domain.register_source(
            request.user, code=data["code"], name=data["name"], kind=data["kind"],
            organisation=form.chosen_organisation(), **_now_and_keyring()))
        if ok:
            messages.success(request, f"{source.name} has been registered: issue it a key")
            return _redirect("admin-sources")
    return render(request, "administration/source_new.html", {
        "title": "Register a source system", "form": form, "errors": form.errors})


class KeyForm(forms.Form):
    scopes = forms.MultipleChoiceField(
        label="What the key may do", choices=[(str(s), SCOPE_NAMES[s]) for s in sorted(SOURCE_SCOPES)],
        initial=[str(s) for s in sorted(SOURCE_SCOPES)],
        error_messages={"required": "Choose what the key may do"})


@requires(Permission.ORG_SOURCES_MANAGE)
@require_http_methods(["GET", "POST"])
def source_key_new(request: HttpRequest, pk: int) -> HttpResponse:
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
def source_key_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    key = get_object_or_404(SourceKey.objects.select_related("source__organisation").filter(
        source__in=_sources_in_scope(request)), pk=pk)
    if key.revoked_at is None:
        source_domain.revoke_key(request.user, key, **_now_and_keyring())
        messages.success(request, f"Key {key.prefix} of {key.source.name} has been revoked: it is refused from now on")
    else:
        messages.success(request, f"Key {key.prefix} of {key.source.name} was already revoked")
    return _redirect("admin-sources")
