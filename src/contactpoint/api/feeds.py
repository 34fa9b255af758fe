"""``POST /api/v1/feeds/{source}`` and ``GET /api/v1/feeds/{source}/discrepancies``, for source systems with
their API key, thin over ``contactpoint.ingest.run.ingest`` and
``contactpoint.bestview.discrepancies.fetch_report``.

The body is the feed file itself, exactly as ``contactpoint ingest`` would read it; its format comes from
``?format=`` or else from the Content-Type. The same file twice changes nothing (the earlier run is returned,
``repeat: true``); a file that was cut off part-way can simply be sent again. A key may act only for its own
source system: another source's path is refused as if it did not exist for the key (403, audited).
"""

from __future__ import annotations

from typing import Literal

from django.http import HttpRequest
from django.utils import timezone
from ninja import Query, Router

from contactpoint.access.roles import Permission
from contactpoint.access.sources import SourcePrincipal, source_actor
from contactpoint.api.auth import SourceKey, SourceRequest
from contactpoint.api.schemas import Discrepancies, FeedRun, Problem
from contactpoint.audit.actions import AuditAction, Outcome
from contactpoint.audit.trail import record_event
from contactpoint.bestview.discrepancies import fetch_report
from contactpoint.errors import FeedRejected, FeedTooLarge, PermissionDenied, UnsupportedFeedType
from contactpoint.feeds import formats
from contactpoint.feeds.models import FeedRun as FeedRunModel
from contactpoint.feeds.models import RowProblem
from contactpoint.ingest.run import ingest
from contactpoint.vault.keyring import get_keyring

router = Router(tags=["feeds"])

# Larger national loads go through the command line (contactpoint ingest), or as deltas.
MAX_FEED_BYTES = 256 * 1024 * 1024
PROBLEMS_SHOWN = 1000

MEDIA_TYPES = {
    "text/csv": "csv",
    "application/csv": "csv",
    "application/x-ndjson": "jsonl",
    "application/jsonl": "jsonl",
    "application/x-jsonlines": "jsonl",
    "application/fhir+json": "fhir",
    "application/json": "fhir",
    "application/xml": "ctf",
    "text/xml": "ctf",
}
WRONG_TYPE = ("Say what format the feed is in: Content-Type text/csv, application/x-ndjson, "
              "application/fhir+json or application/xml, or ?format=csv|jsonl|fhir|ctf.")

_BODY = {"required": True, "content": {t: {"schema": {"type": "string", "format": "binary"}}
                                       for t in ("text/csv", "application/x-ndjson", "application/fhir+json",
                                                 "application/xml")}}


def _own_source(request: SourceRequest, source: str, permission: Permission) -> SourcePrincipal:
    principal = request.auth
    if source != principal.source.code:
        record_event(AuditAction.ACCESS_REFUSED, actor=source_actor(principal.source), keyring=get_keyring(),
                     outcome=Outcome.REFUSED, at=timezone.now(),
                     context={"path": request.path, "permission": str(permission), "api": True,
                              "why": "another source"})
        raise PermissionDenied("This API key acts only for its own source system. Use the source code the "
                               "key was issued for.")
    return principal


def _format(request: HttpRequest, requested: str | None) -> str:
    if requested:
        if requested not in formats.FORMATS:
            raise UnsupportedFeedType(WRONG_TYPE)
        return requested
    media = (request.content_type or "").split(";")[0].strip().lower()
    fmt = MEDIA_TYPES.get(media)
    if fmt is None:
        raise UnsupportedFeedType(WRONG_TYPE)
    return fmt


def _read_body(request: HttpRequest) -> bytes:
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > MAX_FEED_BYTES:
        raise FeedTooLarge(f"A feed sent over HTTP is at most {MAX_FEED_BYTES // (1024 * 1024)} MiB. Send it "
                           "as smaller deltas, or ask the service team to load it from the command line.")
    data = request.read(MAX_FEED_BYTES + 1)
    if not data:
        raise FeedRejected("The request body is empty: send the feed file as the body.")
    return data


def _summary(run: FeedRunModel, repeat: bool) -> dict:
    problems = RowProblem.objects.filter(run=run)
    return {
        "run": run.id, "status": run.status, "repeat": repeat, "format": run.format, "mode": run.mode,
        "rows": run.rows_done, "accepted": run.rows_accepted, "unchanged": run.rows_unchanged,
        "refused": run.rows_refused, "fields_refused": run.fields_refused, "held": run.rows_held,
        "children_created": run.children_created, "records_linked": run.records_linked,
        "reviews_queued": run.reviews_queued,
        "problems": [{"line": p.line, "field": p.field, "reason": p.reason, "kind": p.kind}
                     for p in problems[:PROBLEMS_SHOWN]],
        "problems_total": problems.count(),
    }


@router.post("/feeds/{source}", auth=SourceKey(Permission.FEED_SUBMIT),
             response={200: FeedRun, 401: Problem, 403: Problem, 413: Problem, 415: Problem, 422: Problem},
             openapi_extra={"requestBody": _BODY}, summary="Send a feed file", operation_id="submit_feed")
def submit(request: SourceRequest, source: str,
           format: Literal["csv", "jsonl", "fhir", "ctf"] | None = Query(
               None, description="overrides the Content-Type"),
           mode: Literal["delta", "full"] = Query(
               "delta", description="full: the file is everything the source holds; its other records stop "
                                    "counting")):
    principal = _own_source(request, source, Permission.FEED_SUBMIT)
    data = _read_body(request)
    fmt = _format(request, format)
    outcome = ingest(principal.source, data, fmt=fmt, mode=mode, keyring=get_keyring(), now=timezone.now())
    if outcome.run.status == FeedRunModel.Status.REJECTED:
        raise FeedRejected(outcome.run.message or "This file was refused before.")
    return _summary(outcome.run, outcome.already_done)


@router.get("/feeds/{source}/discrepancies", auth=SourceKey(Permission.FEED_DISCREPANCIES),
            response={200: Discrepancies, 401: Problem, 403: Problem}, summary="Your open discrepancies",
            operation_id="get_discrepancies")
def discrepancies(request: SourceRequest, source: str):
    principal = _own_source(request, source, Permission.FEED_DISCREPANCIES)
    items = fetch_report(principal.source.code, actor=source_actor(principal.source), keyring=get_keyring(),
                         now=timezone.now(), context={"api": True})
    return {"source": principal.source.code,
            "items": [{"source_record_id": i.source_record_id, "field": i.field, "message": i.message,
                       "opened": i.opened} for i in items]}
