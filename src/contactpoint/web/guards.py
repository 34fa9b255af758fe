"""How each web view declares what it needs. Every URL is either ``@public`` or ``@requires(permission)``; a
test walks the URL configuration and fails on any view that declares neither.

The rules themselves (roles, permissions, conditions of access) are ``contactpoint.access``'s; this module is
the web's door to them, and the domain never imports it."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, Protocol, cast

from django.http import HttpRequest, HttpResponseBase, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from contactpoint.access.authentication import user_actor
from contactpoint.access.models import User
from contactpoint.access.roles import Permission
from contactpoint.audit.actions import AuditAction, Outcome
from contactpoint.audit.trail import record_event
from contactpoint.vault.keyring import get_keyring
from contactpoint.web.errors import forbidden

View = Callable[..., HttpResponseBase]


class SignedInRequest(HttpRequest):
    """The request a ``@requires`` view is given: the guard lets it through only for a signed-in, fully
    verified ContactPoint user, so such a view annotates ``request: SignedInRequest``. A type for the checker
    only: at run time it is Django's own request."""

    user: User


class _OTPUser(Protocol):
    def is_verified(self) -> bool: ...


def is_verified(user: User) -> bool:
    """Whether ``user`` gave their second factor in this session. ``is_verified()`` is django_otp's: its
    ``OTPMiddleware`` sets it on each request's user, and no type stubs declare it."""
    return cast(_OTPUser, user).is_verified()


def public(view: View) -> View:
    """Reachable without signing in (start page, sign-in, health checks). Holds no child data."""
    view.public = True  # type: ignore[attr-defined]
    return view


def requires(permission: Permission) -> Callable[[View], View]:
    """The view needs a signed-in, fully verified user whose role holds ``permission``. Refusals are
    audited."""

    def decorate(view: View) -> View:
        @wraps(view)
        def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            user = request.user
            if not user.is_authenticated or not is_verified(user):
                return HttpResponseRedirect(f"{reverse('sign-in')}?{urlencode({'next': request.path})}")
            if not user.has(permission):
                record_event(AuditAction.ACCESS_REFUSED, actor=user_actor(user), keyring=get_keyring(),
                             outcome=Outcome.REFUSED, context={"path": request.path,
                                                               "permission": str(permission)},
                             at=timezone.now())
                return forbidden(request)
            return view(request, *args, **kwargs)

        guarded.required_permission = permission  # type: ignore[attr-defined]
        return guarded

    return decorate
