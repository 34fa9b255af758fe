"""The web's middleware.

``SecurityHeadersMiddleware``: response headers every page gets (DESIGN.md section 4), a strict
Content-Security-Policy with a per-request nonce, and ``Cache-Control: no-store`` so that no page or API
response holding child data is kept by a browser or proxy.

``NotFoundMiddleware``: a domain ``NotFound`` that leaves a view is the 404 page, in this one place. The
domain says "not found" for anything the user may not know exists (a record of another authority, an alert
outside an auditor's scope); a view catches ``NotFound`` only to say something else (a message on a form)."""

from __future__ import annotations

import secrets
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from contactpoint.errors import NotFound
from contactpoint.web.errors import not_found


class SecurityHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        nonce = secrets.token_urlsafe(16)
        request.csp_nonce = nonce  # type: ignore[attr-defined]
        response = self.get_response(request)
        if request.path.startswith("/static/"):
            return response
        response["Content-Security-Policy"] = (
            f"default-src 'self'; script-src 'self' 'nonce-{nonce}'; style-src 'self'; img-src 'self' data:; "
            "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
            "base-uri 'none'; object-src 'none'"
        )
        response["Cache-Control"] = "no-store"
        response["Pragma"] = "no-cache"
        response["Permissions-Policy"] = "camera=(), microphone=(), geolocation=(), payment=()"
        return response


class NotFoundMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, NotFound):
            return not_found(request, exception)
        return None
