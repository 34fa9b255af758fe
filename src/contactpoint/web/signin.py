"""Signing in and out: thin over ``contactpoint.access.authentication`` and
``contactpoint.access.sessions``."""

from __future__ import annotations

from django import forms
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.http import require_http_methods, require_POST
from django_otp_webauthn.templatetags.otp_webauthn import get_configuration

from contactpoint.access import sessions
from contactpoint.access.authentication import authenticate, user_actor
from contactpoint.access.preconditions import LAPSES
from contactpoint.access.roles import Permission
from contactpoint.audit.actions import AuditAction
from contactpoint.audit.trail import record_event
from contactpoint.errors import AuthenticationFailed
from contactpoint.vault.keyring import get_keyring
from contactpoint.web.forms import posted
from contactpoint.web.guards import SignedInRequest, is_verified, public, requires
from contactpoint.web.middleware import client_ip


class SignInForm(forms.Form):
    username = forms.CharField(label="Username", max_length=150,
                               error_messages={"required": "Enter your username"})
    password = forms.CharField(label="Password", max_length=256, strip=False,
                               error_messages={"required": "Enter your password"})
    pin = forms.CharField(label="PIN", max_length=8, help_text="Your separate PIN of 6 to 8 digits",
                          error_messages={"required": "Enter your PIN"})
    code = forms.CharField(label="Security code", max_length=10, required=False,
                           help_text="The 6 digits your security token shows now. Leave this empty if you "
                                     "use a security key.")


def _next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()},
                                                  require_https=request.is_secure()):
        return target
    return reverse("home")


@public
@require_http_methods(["GET", "POST"])
def sign_in(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated and is_verified(request.user):
        return HttpResponseRedirect(reverse("home"))
    form = SignInForm(posted(request))
    if form.is_valid():
        data = form.cleaned_data
        now = timezone.now()
        try:
            outcome = authenticate(data["username"], data["password"], data["pin"], data["code"], now=now,
                                   keyring=get_keyring(), ip=client_ip(request))
        except AuthenticationFailed as failed:
            form.add_error(None, failed.message)
        else:
            sessions.start(request, outcome.user, outcome.device, now)
            if not outcome.complete:
                return HttpResponseRedirect(f"{reverse('sign-in-security-key')}?next={_next(request)}")
            return HttpResponseRedirect(_next(request))
    return render(request, "signin/sign_in.html", {"form": form, "next": _next(request), "title": "Sign in"})


@public
@require_http_methods(["GET"])
def security_key(request: HttpRequest) -> HttpResponse:
    """The second step for users with a WebAuthn security key (after password and PIN)."""
    if not request.user.is_authenticated:
        return HttpResponseRedirect(reverse("sign-in"))
    if is_verified(request.user):
        return HttpResponseRedirect(reverse("home"))
    scripts = render_to_string("django_otp_webauthn/auth_scripts.html",
                               {"configuration": get_configuration(request)}, request=request, using="django")
    return render(request, "signin/security_key.html", {
        "title": "Use your security key", "scripts": scripts,
        "next": f"{reverse('sign-in-complete')}?next={_next(request)}"})


@public
@require_http_methods(["GET"])
def complete(request: HttpRequest) -> HttpResponse:
    """Where the security-key step lands: records the sign-in once the key has verified the session."""
    if not (request.user.is_authenticated and is_verified(request.user)):
        return HttpResponseRedirect(reverse("sign-in"))
    record_event(AuditAction.LOGIN_SUCCEEDED, actor=user_actor(request.user), keyring=get_keyring(),
                 target_user=request.user.username,
                 context={"ip": client_ip(request), "factor": "webauthn"}, at=timezone.now())
    return HttpResponseRedirect(_next(request))


@public
@require_http_methods(["GET", "POST"])
def sign_out(request: HttpRequest) -> HttpResponse:
    if request.method == "POST" and request.user.is_authenticated:
        sessions.end(request, "signed_out", timezone.now())
        return HttpResponseRedirect(reverse("signed-out"))
    if request.user.is_authenticated:
        return render(request, "signin/sign_out.html", {"title": "Sign out"})
    return HttpResponseRedirect(reverse("signed-out"))


WHY = {
    "signed_out": ("You have signed out", ""),
    "idle": ("You have been signed out",
             "You were inactive for 15 minutes, so we signed you out to protect the children's information."),
    "absolute": ("You have been signed out",
                 "You can stay signed in for 12 hours at most. Sign in again to carry on."),
    "account_changed": ("You have been signed out",
                        "Something about your account changed (your access, password, PIN or security "
                        "token). Sign in again."),
    "no_state": ("You have been signed out", "Sign in again to carry on."),
}


@public
@require_http_methods(["GET"])
def signed_out(request: HttpRequest) -> HttpResponse:
    info = request.session.pop("signed_out", None) or {"why": "signed_out", "precondition": ""}
    lapse = LAPSES.get(info.get("precondition", ""))
    if lapse:
        title, body, action = "You have been signed out", lapse.message, lapse.action
    else:
        title, body = WHY.get(info.get("why", ""), WHY["signed_out"])
        action = ""
    sign_in_href = reverse("sign-in")
    if info.get("next"):
        sign_in_href += "?" + urlencode({"next": info["next"]})
    return render(request, "signin/signed_out.html", {"title": title, "body": body, "action": action,
                                                      "sign_in_href": sign_in_href})


@requires(Permission.SELF_ACCOUNT)
@require_POST
def keep_alive(request: SignedInRequest) -> HttpResponse:
    """"Stay signed in" on the warning before the idle timeout (application.mjs). Changes nothing but the idle
    clock, which any page would restart too; a session that has already ended never reaches here (the access
    middleware ends it first, and the script then reloads the page)."""
    sessions.keep_alive(request, timezone.now())
    return HttpResponse(status=204)
