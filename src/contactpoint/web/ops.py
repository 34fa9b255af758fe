"""For the operator, who runs the service and sees no child data: service status and Prometheus metrics.

Counts only (children by state, audit chain length, checkpoint age): nothing here identifies a child."""

from __future__ import annotations

import hmac
from datetime import datetime
from typing import TypedDict

from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from contactpoint.access.roles import Permission
from contactpoint.audit.models import AuditCheckpoint, AuditHead, AuditPending, AuditVerification
from contactpoint.children.models import Child
from contactpoint.config import get_settings
from contactpoint.feeds.models import FeedJob
from contactpoint.ingest.jobs import overdue
from contactpoint.web.guards import SignedInRequest, public, requires


class ServiceFigures(TypedDict):
    children: dict[str, int]  # by status
    shielded: int
    audit_entries: int
    audit_pending: int
    last_checkpoint: AuditCheckpoint | None
    last_verification: AuditVerification | None
    silent_sources: list[tuple[str, datetime]]  # expected to send, and silent since
    feed_jobs_waiting: int  # sent over the API, not yet run by the worker


def service_figures() -> ServiceFigures:
    head = AuditHead.objects.filter(pk=1).first()
    checkpoint = AuditCheckpoint.objects.order_by("-seq").first()
    verification = AuditVerification.objects.order_by("-at").first()
    by_status = dict(Child.objects.values_list("status").annotate(n=Count("id")).values_list("status", "n"))
    return {
        "children": by_status,
        "shielded": Child.objects.filter(shielded=True).count(),
        "audit_entries": head.seq if head else 0,
        "audit_pending": AuditPending.objects.count(),
        "last_checkpoint": checkpoint,
        "last_verification": verification,
        "silent_sources": [(source.code, since) for source, since in overdue(timezone.now())],
        "feed_jobs_waiting": FeedJob.objects.filter(status__in=(FeedJob.Status.QUEUED,
                                                                FeedJob.Status.RUNNING)).count(),
    }


@requires(Permission.OPS_SERVICE)
@require_GET
def status(request: SignedInRequest) -> HttpResponse:
    return render(request, "ops/status.html", {"title": "Service status", "figures": service_figures(),
                                               "now": timezone.now()})


@public  # guarded by its own bearer token instead of a session: scrapers do not sign in
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    expected = get_settings().metrics_token
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if not expected or not given or not hmac.compare_digest(given, expected):
        return HttpResponse("metrics need the operator's bearer token\n", status=401,
                            content_type="text/plain")
    f = service_figures()
    lines = ["# HELP contactpoint_children Children in the index by lifecycle state.",
             "# TYPE contactpoint_children gauge"]
    for state in ("live", "archived", "sealed"):
        lines.append(f'contactpoint_children{{state="{state}"}} {f["children"].get(state, 0)}')
    lines += ["# TYPE contactpoint_audit_entries counter", f"contactpoint_audit_entries {f['audit_entries']}"]
    lines += ["# HELP contactpoint_audit_pending Audit entries committed but not yet linked into the chain.",
              "# TYPE contactpoint_audit_pending gauge", f"contactpoint_audit_pending {f['audit_pending']}"]
    checkpoint = f["last_checkpoint"]
    age = (timezone.now() - checkpoint.at).total_seconds() if checkpoint else -1
    lines += ["# HELP contactpoint_audit_checkpoint_age_seconds Seconds since the last signed checkpoint "
              "(-1: none).",
              "# TYPE contactpoint_audit_checkpoint_age_seconds gauge",
              f"contactpoint_audit_checkpoint_age_seconds {age:.0f}"]
    verification = f["last_verification"]
    lines += ["# TYPE contactpoint_audit_intact gauge",
              f"contactpoint_audit_intact {1 if verification is None or verification.intact else 0}"]
    lines += ["# HELP contactpoint_sources_silent Sources that have sent nothing for longer than they are expected to.",
              "# TYPE contactpoint_sources_silent gauge", f"contactpoint_sources_silent {len(f['silent_sources'])}",
              "# HELP contactpoint_feed_jobs_waiting Feeds sent over the API that the worker has not yet run.",
              "# TYPE contactpoint_feed_jobs_waiting gauge", f"contactpoint_feed_jobs_waiting {f['feed_jobs_waiting']}"]
    return HttpResponse("\n".join(lines) + "\n", content_type="text/plain; version=0.0.4")
