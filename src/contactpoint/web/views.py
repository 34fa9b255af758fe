from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from contactpoint.vault.keyring import get_keyring
from contactpoint.web.guards import public


@public
@require_GET
def start(request: HttpRequest) -> HttpResponse:
    return render(request, "web/start.html", {})


@public
@require_GET
def live(request: HttpRequest) -> JsonResponse:
    """The process is up. Says nothing else."""
    return JsonResponse({"status": "ok"})


@public
@require_GET
def healthcheck(request: HttpRequest) -> JsonResponse:
    """``/healthcheck``, where load balancers and people look first: the same as ``/healthcheck/live``. It says
    nothing about the database or keys (``/healthcheck/ready`` does, for the orchestrator)."""
    return JsonResponse({"status": "ok"})


@public
@require_GET
def ready(request: HttpRequest) -> JsonResponse:
    """The service can do its work: the database answers, the audit trail has its head, the key ring opens."""
    checks: dict[str, str] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT seq FROM audit_head WHERE id = 1")
            checks["database"] = "ok" if cursor.fetchone() is not None else "no audit head"
    except Exception:
        checks["database"] = "unavailable"
    try:
        get_keyring()
        checks["keyring"] = "ok"
    except Exception:
        checks["keyring"] = "unavailable"
    ok = all(v == "ok" for v in checks.values())
    return JsonResponse({"status": "ok" if ok else "unavailable", "checks": checks},
                        status=200 if ok else 503)
