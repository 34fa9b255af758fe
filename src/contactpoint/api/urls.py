"""URLs of the JSON API: ``/api/v1/``. Anything else under ``/api/``, and a method an address does not take,
is answered in the API's own error format, never with an HTML page.

``included`` and ``nowhere`` mount any machine interface that way: FHIR mounts itself with them
(``contactpoint.fhir.urls``), so that FHIR depends on the API and never the other way round."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.http import Http404, HttpRequest, HttpResponse
from django.urls import URLPattern, URLResolver, include, path

from contactpoint.api.errors import NOT_FOUND, Refusal
from contactpoint.api.main import api, refusal_response
from contactpoint.web.guards import public

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


def nowhere(render: Render) -> Callable:
    """A view for every address under an interface's prefix that is none of its operations: a 404 in its
    format."""

    @public
    def nowhere(request: HttpRequest, rest: str = "") -> HttpResponse:
        return render(request, Refusal(404, "not_found", NOT_FOUND))

    nowhere.csrf_exempt = True  # type: ignore[attr-defined]
    return nowhere


def included(ninja_api, render: Render):
    """A ninja API's URLs, each answering a 404 or a 405 with ``render`` (in the interface's own format)."""
    patterns, app_name, namespace = ninja_api.urls
    return include((_wrapped(patterns, render), app_name), namespace=namespace)


urlpatterns = [
    path("api/v1/", included(api, refusal_response)),
    path("api/", nowhere(refusal_response)),
    path("api/<path:rest>", nowhere(refusal_response)),
]
