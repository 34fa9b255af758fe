"""The JSON API under ``/api/v1/`` (DESIGN.md section 5), with its OpenAPI document at
``/api/v1/openapi.json``.

Every operation declares its auth object, and with it the ``Permission`` it needs (``contactpoint.api.auth``);
only ``POST /session`` (which takes credentials) and the OpenAPI document and its docs page (which describe
the interface and hold no data) are public. Every error is JSON from ``contactpoint.api.errors``.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI

from contactpoint.api import amendments, children, creation, education, feeds, session
from contactpoint.api.errors import Refusal, classify, handle_everything

api = NinjaAPI(
    title="ContactPoint API",
    version="1",
    description="Finding a child and who is working with them, for case-management systems acting for a "
                "practitioner; feeds and discrepancy reports for source systems. See docs/api.md.",
    urls_namespace="api-v1",
    openapi_url="/openapi.json",
    docs_url="/docs",
)
api.add_router("", session.router)
api.add_router("", children.router)
api.add_router("", feeds.router)
api.add_router("", amendments.router)
api.add_router("", creation.router)
api.add_router("", education.router)


def refusal_response(request: HttpRequest, refusal: Refusal) -> HttpResponse:
    response = api.create_response(request, refusal.body(), status=refusal.status)
    if refusal.status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="ContactPoint"'
    return response


def _any(request: HttpRequest, exc: Exception) -> HttpResponse:
    return refusal_response(request, classify(exc))


handle_everything(api, _any)
