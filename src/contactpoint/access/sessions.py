"""Web sessions (DESIGN.md section 4): a new session ID at login; idle for 15 minutes or open for 12 hours ends
it; so does any change that bumps the user's ``session_epoch`` (revocation, suspension, new password, PIN or
token); and so does any lapsed precondition, checked on every request by ``AccessMiddleware``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from django.contrib.auth import login as django_login
from django.contrib.auth import logout as django_logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django_otp import login as otp_login

from contactpoint.access import preconditions
from contactpoint.access.authentication import user_actor
from contactpoint.access.models import User
from contactpoint.audit.actions import AuditAction, Outcome
from contactpoint.audit.trail import record_event
from contactpoint.config import get_settings
from contactpoint.vault.keyring import get_keyring

STATE = "cp"

# Paths a signed-in user may reach while a second factor or a policy signature is still owed.
SECOND_FACTOR_PATHS = ("/sign-in/security-key", "/webauthn/", "/sign-out")
POLICY_PATHS = ("/account/policy", "/sign-out")


def start(request: HttpRequest, user: User, device, now: datetime) -> None:
    """Log the user in on a fresh session ID; ``device`` is None while a security key is still to be used."""
    # (cycles the session key)
    django_login(request, user, backend="django.contrib.auth.backends.AllowAllUsersModelBackend")
    if device is not None:
        otp_login(request, device)
    stamp = now.timestamp()
    # Whether the user had signed the current acceptable-use policy: if not, this session is only for signing it;
    # if so, a policy that lapses while it lasts (a new version) ends it, as any other lapsed condition does.
    policy_ok = not any(f.key == "policy_signed" for f in preconditions.lapses(user, timezone.localdate(now)))
    request.session[STATE] = {"login_at": stamp, "last_seen": stamp, "epoch": user.session_epoch, "override": [],
                              "policy_ok": policy_ok}


def policy_signed(request: HttpRequest) -> None:
    """The user has just signed the current policy in this session: from now on a lapse ends it."""
    state = request.session.get(STATE)
    if state is not None:
        state["policy_ok"] = True
        request.session[STATE] = state


# Why a session can end on its own while the user may simply carry on after signing in again: for these, the
# sign-in link on the signed-out page brings them back to the page they were on.
RESUMABLE = ("idle", "absolute")


def end(request: HttpRequest, why: str, now: datetime, *, precondition: str = "") -> None:
    user = request.user
    # Only the path (never a query string, which could hold criteria); /sign-in checks it is ours before use.
    back = request.path if why in RESUMABLE and not request.path.startswith(("/sign-", "/session/")) else ""
    if user.is_authenticated:
        record_event(AuditAction.LOGOUT if why == "signed_out" else AuditAction.SESSION_ENDED,
                     actor=user_actor(user), keyring=get_keyring(), target_user=user.username,
                     outcome=Outcome.SUCCESS if why == "signed_out" else Outcome.REFUSED,
                     context={"why": why, "precondition": precondition}, at=now)
    django_logout(request)  # flushes the session: nothing of it survives
    request.session["signed_out"] = {"why": why, "precondition": precondition, "next": back}


def keep_alive(request: HttpRequest, now: datetime) -> None:
    """The user chose to stay signed in (the warning before the idle timeout): the idle clock starts again."""
    state = request.session.get(STATE)
    if state is not None:
        state["last_seen"] = now.timestamp()
        request.session[STATE] = state


TOUCH_EVERY_SECONDS = 60


def expired(state: dict | None, user: User, now: datetime) -> str | None:
    limits = get_settings().session
    if not state:
        return "no_state"
    if state.get("epoch") != user.session_epoch:
        return "account_changed"
    if now.timestamp() - state["last_seen"] > limits.idle_minutes * 60:
        return "idle"
    if now.timestamp() - state["login_at"] > limits.absolute_hours * 3600:
        return "absolute"
    return None


def overrides(request: HttpRequest) -> list[str]:
    """ContactPoint IDs whose shielding this session has overridden (child protection; lasts only for it)."""
    return list((request.session.get(STATE) or {}).get("override", []))


class AccessMiddleware:
    """Checks, on every request of a signed-in user, that the session is still valid and every condition of
    access still holds; ends the session (and says why) the moment one does not."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        request.clearance_warning = None  # type: ignore[attr-defined]
        if not user.is_authenticated or request.path.startswith("/static/"):
            return self.get_response(request)
        now = timezone.now()
        state = request.session.get(STATE)
        why = expired(state, user, now)
        if why:
            # A revocation or suspension also bumps the epoch: say which condition lapsed, not just "changed".
            failed = preconditions.lapses(user, timezone.localdate(now)) if why == "account_changed" else []
            failed = [f for f in failed if f.key != "policy_signed"]
            if failed:
                end(request, "precondition", now, precondition=failed[0].key)
            else:
                end(request, why, now)
            return HttpResponseRedirect(reverse("signed-out"))
        assert state is not None  # expired() says "no_state" otherwise
        failed = preconditions.lapses(user, timezone.localdate(now))
        if failed and ([f.key for f in failed] != ["policy_signed"] or state.get("policy_ok")):
            # A policy signed when the session began and lapsed since ends it too; one owed from the start only
            # confines the session to signing it (below).
            end(request, "precondition", now, precondition=failed[0].key)
            return HttpResponseRedirect(reverse("signed-out"))
        if not user.is_verified():  # type: ignore[attr-defined]  # added by django_otp's OTPMiddleware
            if not request.path.startswith(SECOND_FACTOR_PATHS):
                return HttpResponseRedirect(reverse("sign-in-security-key"))
            return self._touch(request, state, now)
        if failed:
            if not request.path.startswith(POLICY_PATHS):
                return HttpResponseRedirect(reverse("account-policy"))
        elif user.must_change_credentials and not request.path.startswith(("/account/credentials", "/sign-out")):
            return HttpResponseRedirect(reverse("account-credentials"))
        request.clearance_warning = preconditions.clearance_warning(  # type: ignore[attr-defined]  # for the pages
            user, timezone.localdate(now))
        return self._touch(request, state, now)

    def _touch(self, request: HttpRequest, state: dict, now: datetime) -> HttpResponse:
        # Writing the session back costs a commit (a disk flush) per request; the idle clock needs it only now
        # and then. Touching at most once a minute can end an idle session up to a minute early, never late.
        if now.timestamp() - state["last_seen"] >= TOUCH_EVERY_SECONDS:
            state["last_seen"] = now.timestamp()
            request.session[STATE] = state
        return self.get_response(request)
