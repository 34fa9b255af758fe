"""Pages for organisation administrators: finding users, adding them, and managing their access (grants,
suspensions, clearance, training, the acceptable use policy, security tokens, passwords and PINs).

Shared with the other administration pages: ``contactpoint.web.admin_common`` (scope, Post/Redirect/Get)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import qrcode
from django import forms
from django.contrib import messages
from django.core.paginator import Page, Paginator
from django.db.models import Q
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_http_methods
from qrcode.image.svg import SvgPathImage

from contactpoint.access import administration as admin_domain
from contactpoint.access import preconditions
from contactpoint.access.models import Organisation, PolicyVersion, User
from contactpoint.access.roles import ROLES, OrgKind, Permission
from contactpoint.errors import PermissionDenied
from contactpoint.vault.keyring import get_keyring
from contactpoint.web.account import account_history
from contactpoint.web.admin_common import ReasonForm, now_and_keyring, redirect_to
from contactpoint.web.forms import GovukDateField, attempt, posted
from contactpoint.web.guards import SignedInRequest, requires

PAGE_SIZE = 50

LAPSE_SHORT = {
    "organisation_accredited": "organisation suspended",
    "access_granted": "access not granted",
    "account_active": "account suspended",
    "clearance_current": "clearance not current",
    "training_completed": "training not recorded",
    "policy_signed": "policy not signed",
    "second_factor_enrolled": "no security token",
}


# --- finding users ------------------------------------------------------------------------------------------

STATUSES = (("all", "All users"), ("ok", "Can use ContactPoint"), ("lapsed", "Something has lapsed"))


class UserSearchForm(forms.Form):
    q = forms.CharField(label="Name or username", required=False, max_length=100)
    status = forms.ChoiceField(label="Status", choices=STATUSES, required=False, initial="all",
                               error_messages={"invalid_choice": "Choose a status"})


@requires(Permission.ORG_USERS_VIEW)
@require_http_methods(["GET"])
def users(request: SignedInRequest) -> HttpResponse:
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

    page: Page[User] | Page[tuple[User, list]]  # users, or (user, lapses) rows when filtered by status
    if status == "all":
        page = Paginator(found, PAGE_SIZE).get_page(request.GET.get("page"))
        rows = with_lapses(page.object_list)
    else:
        # Whether someone can use ContactPoint is decided by the preconditions module alone, user by user.
        matching = [(u, lapsed) for u, lapsed in with_lapses(found) if bool(lapsed) == (status == "lapsed")]
        page = Paginator(matching, PAGE_SIZE).get_page(request.GET.get("page"))
        rows = list(page.object_list)

    def page_href(number: int) -> str:
        params: dict[str, str | int] = {"q": query, "status": status, "page": number}
        return "?" + urlencode(params)

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
        cast(forms.ChoiceField, self.fields["organisation"]).choices = [("", "Choose an organisation")] + [
            (str(o.pk), f"{o.name} ({o.code})") for o in self.organisations]
        if len(self.organisations) == 1:
            self.fields["organisation"].initial = str(self.organisations[0].pk)
        cast(forms.ChoiceField, self.fields["role"]).choices = [("", "Choose a role")] + [
            (r.code, r.title) for r in ROLES if r.org_kinds & kinds]

    def chosen_organisation(self) -> Organisation:
        """Once the form is valid: one of ``self.organisations`` (the field's choices) was chosen."""
        return next(o for o in self.organisations if str(o.pk) == self.cleaned_data["organisation"])


@requires(Permission.ORG_USERS_MANAGE)
@require_http_methods(["GET", "POST"])
def user_new(request: SignedInRequest) -> HttpResponse:
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

def _subject(request: SignedInRequest, pk: int) -> User:
    """The user ``pk``, if the administrator's scope holds them; otherwise a 404 (never a 403)."""
    in_scope = admin_domain.users_in_scope(request.user).select_related("organisation__vouched_by")
    return get_object_or_404(in_scope, pk=pk)


def _user_page(request: SignedInRequest, subject: User, error: str | None = None) -> HttpResponse:
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
def user(request: SignedInRequest, pk: int) -> HttpResponse:
    return _user_page(request, _subject(request, pk))


def _button_action(request: SignedInRequest, pk: int, act: Callable[[User, User], None],
                   done: str) -> HttpResponse:
    """A change made with one button on the user's page."""
    subject = _subject(request, pk)
    try:
        act(request.user, subject)
    except PermissionDenied as error:
        return _user_page(request, subject, error.message)
    messages.success(request, done.format(name=subject.full_name))
    return redirect_to("admin-user", subject.pk)


@requires(Permission.ORG_USERS_MANAGE)
@require_http_methods(["POST"])
def user_grant(request: SignedInRequest, pk: int) -> HttpResponse:
    return _button_action(request, pk, lambda admin, subject: admin_domain.grant_access(
        admin, subject, now=timezone.now(), keyring=get_keyring()), "{name} has been granted access")


@requires(Permission.ORG_USERS_MANAGE)
@require_http_methods(["POST"])
def user_reinstate(request: SignedInRequest, pk: int) -> HttpResponse:
    return _button_action(request, pk, lambda admin, subject: admin_domain.reinstate_user(
        admin, subject, now=timezone.now(), keyring=get_keyring()), "{name}'s account has been reinstated")


@requires(Permission.ORG_USERS_MANAGE)
@require_http_methods(["POST"])
def user_unlock(request: SignedInRequest, pk: int) -> HttpResponse:
    return _button_action(request, pk, lambda admin, subject: admin_domain.unlock(
        admin, subject, now=timezone.now(), keyring=get_keyring()), "Sign-in has been unlocked for {name}")


# --- actions with a small form of their own -----------------------------------------------------------------

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
        cast(forms.TypedChoiceField, self.fields["version"]).choices = [
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
    # Said after the change when it leaves the user unable to use ContactPoint (an expired clearance recorded):
    # the change is kept (it may correct a wrong date), but the administrator is told at once.
    warning_after: Callable[[User], str | None] | None = None


def _action_page(request: SignedInRequest, pk: int, action: UserAction) -> HttpResponse:
    subject = _subject(request, pk)
    form = action.form(posted(request))
    if form.is_valid():
        ok, _ = attempt(form, lambda: action.run(request.user, subject, form.cleaned_data))
        if ok:
            warning = action.warning_after(subject) if action.warning_after else None
            if warning:
                messages.warning(request, warning)
            else:
                messages.success(request, action.done.format(name=subject.full_name))
            return redirect_to("admin-user", subject.pk)
    return render(request, "administration/user_action.html", {
        "title": action.heading, "action": action, "form": form, "errors": form.errors, "subject": subject})


REVOKE = UserAction(
    "Revoke access", "Revoke access", ReasonForm,
    lambda admin, subject, data: admin_domain.revoke_access(admin, subject, reason=data["reason"],
                                                            **now_and_keyring()),
    "{name}'s access has been revoked",
    intro="The person will be signed out at once and cannot use ContactPoint until access is granted again.")

SUSPEND = UserAction(
    "Suspend the account", "Suspend the account", ReasonForm,
    lambda admin, subject, data: admin_domain.suspend_user(admin, subject, reason=data["reason"],
                                                           **now_and_keyring()),
    "{name}'s account has been suspended",
    intro="Suspend an account while something is looked into. The person is signed out at once; reinstating "
          "the account lets them sign in again.")

def _clearance_expired(subject: User) -> str | None:
    expires = preconditions.clearance_expires(subject)
    if expires is None or expires > timezone.localdate():
        return None
    return (f"{subject.full_name}'s clearance has been recorded, but it ran out on {expires.day} {expires:%B %Y} "
            f"(clearance lasts {preconditions.CLEARANCE_YEARS} years). {subject.full_name} cannot use ContactPoint "
            "until a current clearance is recorded.")


CLEARANCE = UserAction(
    "Record enhanced clearance", "Record the clearance", ClearanceForm,
    lambda admin, subject, data: admin_domain.record_clearance(
        admin, subject, cleared_on=data["cleared_on"], reference=data["reference"],
        today=timezone.localdate(), **now_and_keyring()),
    "{name}'s clearance has been recorded",
    intro="Enhanced criminal records clearance lasts 3 years from the date of the certificate.",
    warning_after=_clearance_expired)

TRAINING = UserAction(
    "Record training", "Record the training", TrainingForm,
    lambda admin, subject, data: admin_domain.record_training(
        admin, subject, completed_on=data["completed_on"], today=timezone.localdate(), **now_and_keyring()),
    "{name}'s training has been recorded",
    intro="Record that the person has completed the compulsory ContactPoint training.")

POLICY = UserAction(
    "Record a signed acceptable use policy", "Record the signature", PolicySignatureForm,
    lambda admin, subject, data: admin_domain.record_policy_signature(admin, subject, version=data["version"],
                                                                      **now_and_keyring()),
    "{name}'s signature of the acceptable use policy has been recorded",
    intro="Use this when the person has signed a paper copy of the policy. Keep the signed copy.")

RESET_TOKENS = UserAction(
    "Reset security tokens", "Reset security tokens", ConfirmForm,
    lambda admin, subject, data: admin_domain.reset_tokens(admin, subject, **now_and_keyring()),
    "{name}'s security tokens have been removed",
    intro="Do this when a token or security key is lost or stolen.",
    warning="Every token and security key of this person is removed and they are signed out. They cannot "
            "sign in again until you enrol a new token for them.")


@requires(Permission.ORG_USERS_MANAGE)
@require_http_methods(["GET", "POST"])
def user_revoke(request: SignedInRequest, pk: int) -> HttpResponse:
    return _action_page(request, pk, REVOKE)


@requires(Permission.ORG_USERS_MANAGE)
@require_http_methods(["GET", "POST"])
def user_suspend(request: SignedInRequest, pk: int) -> HttpResponse:
    return _action_page(request, pk, SUSPEND)


@requires(Permission.ORG_USERS_MANAGE)
@require_http_methods(["GET", "POST"])
def user_clearance(request: SignedInRequest, pk: int) -> HttpResponse:
    return _action_page(request, pk, CLEARANCE)


@requires(Permission.ORG_USERS_MANAGE)
@require_http_methods(["GET", "POST"])
def user_training(request: SignedInRequest, pk: int) -> HttpResponse:
    return _action_page(request, pk, TRAINING)


@requires(Permission.ORG_USERS_MANAGE)
@require_http_methods(["GET", "POST"])
def user_policy(request: SignedInRequest, pk: int) -> HttpResponse:
    return _action_page(request, pk, POLICY)


@requires(Permission.ORG_USERS_MANAGE)
@require_http_methods(["GET", "POST"])
def user_tokens_reset(request: SignedInRequest, pk: int) -> HttpResponse:
    return _action_page(request, pk, RESET_TOKENS)


@requires(Permission.ORG_USERS_MANAGE)
@require_http_methods(["GET", "POST"])
def user_credentials_reset(request: SignedInRequest, pk: int) -> HttpResponse:
    """New temporary password and PIN; shown once, in reply to the POST."""
    subject = _subject(request, pk)
    form = ConfirmForm(posted(request))
    if form.is_valid():
        ok, account = attempt(form, lambda: admin_domain.reset_credentials(request.user, subject,
                                                                            **now_and_keyring()))
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
    image = qrcode.make(data, image_factory=SvgPathImage, box_size=10, border=4)
    svg = image.to_string(encoding="unicode")
    svg = re.sub(r"^<\?xml[^>]*\?>\s*", "", svg)
    svg = _STYLE.sub("", svg)
    return svg.replace("<svg ", '<svg class="app-qr-code" role="img" '
                                 'aria-label="QR code for the authenticator app" focusable="false" ', 1)


@requires(Permission.ORG_USERS_MANAGE)
@require_http_methods(["GET", "POST"])
def user_token(request: SignedInRequest, pk: int) -> HttpResponse:
    """GET: what enrolment involves. POST: a new unconfirmed token; its QR code and secret are shown this
    once, with the form that confirms it."""
    subject = _subject(request, pk)
    form = ConfirmForm(posted(request))
    if form.is_valid():
        ok, enrolment = attempt(form, lambda: admin_domain.begin_totp_enrolment(request.user, subject,
                                                                                 **now_and_keyring()))
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
def user_token_confirm(request: SignedInRequest, pk: int) -> HttpResponse:
    subject = _subject(request, pk)
    form = TokenCodeForm(posted(request))
    if form.is_valid():
        ok, _ = attempt(form, lambda: admin_domain.confirm_totp_enrolment(
            request.user, subject, code=form.cleaned_data["code"], **now_and_keyring()))
        if ok:
            messages.success(request, f"A security token has been enrolled for {subject.full_name}")
            return redirect_to("admin-user", subject.pk)
    # The QR code is not shown again: if the token was not set up, start again for a new one.
    return render(request, "administration/token_confirm.html", {
        "title": "Enrol a security token", "subject": subject, "form": form, "errors": form.errors,
        "qr": None, "secret": None})

