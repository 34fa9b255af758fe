"""URLs of the machine interfaces: ``/api/v1/`` and ``/fhir/``. Anything else under those prefixes, and a
method an address does not take, is answered in that interface's own error format, never with an HTML page."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.http import Http404, HttpRequest, HttpResponse
from django.urls import URLPattern, URLResolver, include, path

from contactpoint.access.guards import public
from contactpoint.api.errors import NOT_FOUND, Refusal
from contactpoint.api.main import api, refusal_response
from contactpoint.fhir.main import fhir, outcome_response

Render = Callable[[HttpRequest, Refusal], HttpResponse]


def _in_own_format(view: Callable, render: Render) -> Callable:
    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        try:
            response = view(request, *args, **kwargs)
        except Http404:
            return render(request, Refusal(404, "not_found", NOT_FOUND))
        if response.status_code == 405 and not response.get("Content-Type", "").startswith("application/"):
            allowed = response.get("Allow", "")
            response = render(request, Refusal(405, "method_not_allowed", f"This address takes {allowed}."))
            response["Allow"] = allowed
        return response

    return wrapped


def _wrapped(patterns, render: Render) -> list:
    out = []
    for p in patterns:
        if isinstance(p, URLResolver):
            p.url_patterns[:] = _wrapped(p.url_patterns, render)
        elif isinstance(p, URLPattern):
            p.callback = _in_own_format(p.callback, render)
        out.append(p)
    return out


def _nowhere(render: Render) -> Callable:
    @public
    def nowhere(request: HttpRequest, rest: str = "") -> HttpResponse:
        return render(request, Refusal(404, "not_found", NOT_FOUND))

    nowhere.csrf_exempt = True  # type: ignore[attr-defined]
    return nowhere


def _included(ninja_api, render: Render):
    patterns, app_name, namespace = ninja_api.urls
    return include((_wrapped(patterns, render), app_name), namespace=namespace)


urlpatterns = [
    path("api/v1/", _included(api, refusal_response)),
    path("api/", _nowhere(refusal_response)),
    path("api/<path:rest>", _nowhere(refusal_response)),
    path("fhir/", _included(fhir, outcome_response)),
    path("fhir/<path:rest>", _nowhere(outcome_response)),
]
