"""Error pages: GOV.UK-style, in plain words, never a stack trace or a value from the request."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def _page(request: HttpRequest, status: int, title: str, body: str) -> HttpResponse:
    return render(request, "web/error.html", {"title": title, "body": body}, status=status)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _page(request, 400, "Sorry, there is a problem with that request",
                 "Check what you entered and try again.")


def forbidden(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _page(request, 403, "You cannot see this page",
                 "Your account does not allow this. Contact your organisation's ContactPoint administrator "
                 "if you think it should.")


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _page(request, 404, "Page not found",
                 "If you typed the web address, check it is correct.")


def paused(request: HttpRequest, message: str) -> HttpResponse:
    """A user over a limit (records.lookups): the message says until when."""
    return _page(request, 429, "Opening records is paused for you", message)


def server_error(request: HttpRequest) -> HttpResponse:
    return _page(request, 500, "Sorry, there is a problem with the service",
                 "Nothing you asked for was shown or changed. Try again later.")


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    return _page(request, 403, "Your session has expired or the form was sent twice",
                 "Go back, reload the page and try again.")
