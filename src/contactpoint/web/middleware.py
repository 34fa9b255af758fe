"""The web's middleware.

``SecurityHeadersMiddleware``: response headers every page gets (DESIGN.md section 4), a strict
Content-Security-Policy with a per-request nonce, and ``Cache-Control: no-store`` so that no page or API
response holding child data is kept by a browser or proxy.

``ClientAddressMiddleware``: behind the TLS-terminating proxy every request comes from the proxy's address. Only
when it does (an address in ``CONTACTPOINT_TRUSTED_PROXIES``) is ``X-Forwarded-For`` read, from the right: the
client is the last address in it that is not itself a trusted proxy. Anyone else's header is ignored, so a
client cannot choose the address the audit trail and the sign-in rules see. ``client_ip`` reads the result.

``RequestIdMiddleware``: every request gets an id, on each audit entry it writes and in the response's
``X-Request-ID`` (so a user's "something went wrong" can be found in the trail and the logs). A trusted proxy's
``X-Request-ID`` is kept when it is a plain token, so the proxy's logs and ours share it; anyone else's is ignored.

``NotFoundMiddleware``: a domain ``NotFound`` that leaves a view is the 404 page, in this one place. The
domain says "not found" for anything the user may not know exists (a record of another authority, an alert
outside an auditor's scope); a view catches ``NotFound`` only to say something else (a message on a form)."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from ipaddress import IPv4Network, IPv6Network, ip_address

from django.http import HttpRequest, HttpResponse

from contactpoint import correlation
from contactpoint.config import get_settings
from contactpoint.errors import NotFound
from contactpoint.web.errors import not_found


def _trusted(address: str, proxies: tuple[IPv4Network | IPv6Network, ...]) -> bool:
    try:
        found = ip_address(address.strip())
    except ValueError:
        return False
    return any(found in network for network in proxies)


def client_address(remote: str, forwarded: str, proxies: tuple[IPv4Network | IPv6Network, ...]) -> str:
    """The client's address: ``remote`` unless it is a trusted proxy, then the right-most address of
    ``forwarded`` (X-Forwarded-For) that is not a trusted proxy (or ``remote`` if there is none, or it is not an
    address at all)."""
    if not proxies or not _trusted(remote, proxies):
        return remote
    for hop in reversed([h.strip() for h in forwarded.split(",") if h.strip()]):
        if _trusted(hop, proxies):
            continue
        try:
            return str(ip_address(hop))
        except ValueError:
            return remote
    return remote


def client_ip(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR", "")


class RequestIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        given = request.headers.get("X-Request-ID", "").strip()
        proxies = get_settings().trusted_proxies
        from_proxy = bool(proxies) and _trusted(request.META.get("REMOTE_ADDR", ""), proxies)
        request_id = given if from_proxy and correlation.acceptable(given) else correlation.new_id()
        request.request_id = request_id  # type: ignore[attr-defined]
        with correlation.scope(request_id):
            response = self.get_response(request)
        response["X-Request-ID"] = request_id
        return response


class ClientAddressMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        proxies = get_settings().trusted_proxies
        if proxies:
            request.META["REMOTE_ADDR"] = client_address(request.META.get("REMOTE_ADDR", ""),
                                                         request.META.get("HTTP_X_FORWARDED_FOR", ""), proxies)
        return self.get_response(request)


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
