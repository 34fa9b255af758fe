"""URLs of the JSON API: ``/api/v1/``. Anything else under ``/api/``, and a method an address does not take,
is answered in the API's own error format, never with an HTML page.

``included`` and ``nowhere`` mount any machine interface that way: FHIR mounts itself with them
(``contactpoint.fhir.urls``), so that FHIR depends on the API and never the other way round."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache, wraps

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.urls import URLPattern, URLResolver, include, path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET

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


@public
@csrf_exempt  # no session is read or changed; another method gets the API's JSON 405, not the CSRF page
@require_GET
def entry_points(request: HttpRequest) -> HttpResponse:
    """``GET /api/v1/``: what the API offers, in JSON (issue 18: it was a 404, in the API's own format). Public,
    as the OpenAPI document is: it describes the interface and holds no data, and every operation it lists keeps
    its own authentication, permission and audit."""
    return JsonResponse(_entry_points())


@cache
def _entry_points() -> dict:
    schema = api.get_openapi_schema(path_prefix="/api/v1")
    links = [{"href": route, "method": method.upper(), "title": operation.get("summary", "")}
             for route, operations in schema["paths"].items() for method, operation in operations.items()]
    return {"name": api.title, "version": api.version, "description": api.description,
            "openapi": "/api/v1/openapi.json", "documentation": "/api/v1/docs", "links": links}


urlpatterns = [
    # Before ninja's own root (a 404); a method it does not take is answered in JSON like any other.
    path("api/v1/", _in_own_format(entry_points, refusal_response), name="api-entry-points"),
    path("api/v1/", included(api, refusal_response)),
    path("api/", nowhere(refusal_response)),
    path("api/<path:rest>", nowhere(refusal_response)),
]
