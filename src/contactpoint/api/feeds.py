"""``POST /api/v1/feeds/{source}`` with ``GET /api/v1/feeds/{source}/jobs/{job}``,
``GET /api/v1/feeds/{source}/discrepancies`` (paged, filtered) and a source's answer to one of its items
(``POST .../discrepancies/{item}/acknowledge`` or ``/dispute``), for source systems with their API key, thin over
``contactpoint.ingest.jobs`` and ``contactpoint.bestview.discrepancies``.

The body is the feed file itself, exactly as ``contactpoint ingest`` would read it; its format comes from
``?format=`` or else from the Content-Type. It is kept, sealed, and answered at once (202) with a job to poll:
``contactpoint worker`` runs it, so a national file never holds a web worker. The same file twice changes nothing
(the job's result is the earlier run, ``repeat: true``); a file that was cut off part-way can simply be sent
again. A key may act only for its own
source system: another source's path is refused as if it did not exist for the key (403, audited), and another
source's item is answered as if it did not exist (404, audited).
"""

from __future__ import annotations

from typing import Literal

from django.http import HttpRequest
from django.utils import timezone
from ninja import Path, Query, Router, Status

from contactpoint.access.roles import Permission
from contactpoint.access.sources import SourcePrincipal, source_actor
from contactpoint.api.auth import SourceKey, SourceRequest
from contactpoint.api.schemas import (
    Discrepancies,
    DiscrepancyItem,
    DisputeRequest,
    FeedJob,
    ItemKind,
    ItemState,
    Problem,
)
from contactpoint.audit.actions import AuditAction, Outcome
from contactpoint.audit.trail import record_event
from contactpoint.bestview.discrepancies import Filters, ReportItem, acknowledge, dispute, fetch_report
from contactpoint.errors import (
    FeedRejected,
    FeedTooLarge,
    PermissionDenied,
    UnsupportedFeedType,
    ValidationError,
)
from contactpoint.feeds import formats
from contactpoint.feeds.models import FeedJob as FeedJobModel
from contactpoint.feeds.models import FeedRun as FeedRunModel
from contactpoint.feeds.models import RowProblem
from contactpoint.ingest.jobs import job_of
from contactpoint.ingest.jobs import submit as submit_job
from contactpoint.vault.keyring import get_keyring

router = Router(tags=["feeds"])

# Larger national loads go through the command line (contactpoint ingest), or as deltas.
MAX_FEED_BYTES = 256 * 1024 * 1024
PROBLEMS_SHOWN = 1000
SUBMIT_QUERY = {"format", "mode"}

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
        "reviews_queued": run.reviews_queued, "children_merged": run.children_merged,
        "problems": [{"line": p.line, "field": p.field, "reason": p.reason, "kind": p.kind}
                     for p in problems[:PROBLEMS_SHOWN]],
        "problems_total": problems.count(),
    }


def _as_job(request: HttpRequest, job: FeedJobModel) -> dict:
    result = None
    if job.status == FeedJobModel.Status.COMPLETED and job.run is not None:
        result = _summary(job.run, job.repeat)
    return {"job": str(job.id), "status": job.status, "received_at": job.received_at,
            "started_at": job.started_at, "finished_at": job.finished_at, "message": job.message,
            "poll": request.build_absolute_uri(f"/api/v1/feeds/{job.source.code}/jobs/{job.id}"), "result": result}


@router.post("/feeds/{source}", auth=SourceKey(Permission.FEED_SUBMIT),
             response={202: FeedJob, 401: Problem, 403: Problem, 413: Problem, 415: Problem, 422: Problem},
             openapi_extra={"requestBody": _BODY}, summary="Send a feed file", operation_id="submit_feed")
def submit(request: SourceRequest, source: str,
           format: Literal["csv", "jsonl", "fhir", "ctf"] | None = Query(
               None, description="overrides the Content-Type"),
           mode: Literal["delta", "full"] = Query(
               "delta", description="full: the file is everything the source holds; its other records stop "
                                    "counting")):
    principal = _own_source(request, source, Permission.FEED_SUBMIT)
    if set(request.GET) - SUBMIT_QUERY:  # a misspelt ?mode=ful must not quietly send a delta
        raise ValidationError("query", "unknown parameter: use format or mode")
    data = _read_body(request)
    fmt = _format(request, format)
    job = submit_job(principal.source, data, fmt=fmt, mode=mode, keyring=get_keyring(), now=timezone.now())
    return Status(202, _as_job(request, job))


@router.get("/feeds/{source}/jobs/{job}", auth=SourceKey(Permission.FEED_SUBMIT),
            response={200: FeedJob, 401: Problem, 403: Problem, 404: Problem}, summary="How a feed job is going",
            operation_id="get_feed_job")
def feed_job(request: SourceRequest, source: str, job: str = Path(..., description="the job's ID, as the POST "
                                                                                      "answered")):
    principal = _own_source(request, source, Permission.FEED_SUBMIT)
    found = job_of(principal.source, job)
    record_event(AuditAction.FEED_JOB_READ, actor=source_actor(principal.source), keyring=get_keyring(),
                 at=timezone.now(), context={"job": str(found.id), "status": found.status, "api": True})
    return _as_job(request, found)


PER_PAGE, PER_PAGE_MAX = 100, 500
FIELD_HELP = "only items about this field: date_of_birth, name, nhs_number, gender, ..."
KIND_FILTER = Query(None, description="only items of this kind")
STATE_FILTER = Query(None, description="only items you have not answered (open), acknowledged or disputed")
REPORT_QUERY = {"page", "per_page", "field", "kind", "state"}
ANSWER_RESPONSES = {200: DiscrepancyItem, **{status: Problem for status in (400, 401, 403, 404, 422)}}
ITEM = Path(..., ge=1, le=2**53, description="the item's ID, as your report gives it")


def _as_item(i: ReportItem) -> dict:
    return {"id": i.id, "source_record_id": i.source_record_id, "field": i.field, "kind": i.kind,
            "message": i.message, "opened": i.opened, "state": i.state, "answered": i.answered}


@router.get("/feeds/{source}/discrepancies", auth=SourceKey(Permission.FEED_DISCREPANCIES),
            response={200: Discrepancies, 401: Problem, 403: Problem, 422: Problem}, exclude_none=True,
            summary="Your open discrepancies", operation_id="get_discrepancies")
def discrepancies(request: SourceRequest, source: str,
                  page: int = Query(1, ge=1, le=1_000_000, description="which page, from 1"),
                  per_page: int = Query(PER_PAGE, ge=1, le=PER_PAGE_MAX, description="items a page"),
                  field: str | None = Query(None, max_length=100, description=FIELD_HELP),
                  kind: ItemKind | None = KIND_FILTER, state: ItemState | None = STATE_FILTER):
    principal = _own_source(request, source, Permission.FEED_DISCREPANCIES)
    if set(request.GET) - REPORT_QUERY:  # a misspelt filter must not quietly list everything
        raise ValidationError("query", "unknown parameter: use page, per_page, field, kind or state")
    filters = Filters(field or "", kind or "", state or "")
    report = fetch_report(principal.source.code, actor=source_actor(principal.source), keyring=get_keyring(),
                          now=timezone.now(), context={"api": True}, filters=filters,
                          offset=(page - 1) * per_page, limit=per_page)
    return {"source": principal.source.code, "total": report.total, "page": page, "per_page": per_page,
            "items": [_as_item(i) for i in report.items]}


@router.post("/feeds/{source}/discrepancies/{item}/acknowledge",
             auth=SourceKey(Permission.FEED_DISCREPANCIES),
             response=ANSWER_RESPONSES, exclude_none=True, operation_id="acknowledge_discrepancy",
             summary="Acknowledge a discrepancy: you will correct your record")
def acknowledge_item(request: SourceRequest, source: str, item: int = ITEM):
    principal = _own_source(request, source, Permission.FEED_DISCREPANCIES)
    done = acknowledge(principal.source.code, item, actor=source_actor(principal.source),
                       keyring=get_keyring(), now=timezone.now(), context={"api": True})
    return _as_item(done)


@router.post("/feeds/{source}/discrepancies/{item}/dispute", auth=SourceKey(Permission.FEED_DISCREPANCIES),
             response=ANSWER_RESPONSES, exclude_none=True, operation_id="dispute_discrepancy",
             summary="Dispute a discrepancy: your value is right")
def dispute_item(request: SourceRequest, source: str, body: DisputeRequest, item: int = ITEM):
    principal = _own_source(request, source, Permission.FEED_DISCREPANCIES)
    done = dispute(principal.source.code, item, body.reason, actor=source_actor(principal.source),
                   keyring=get_keyring(), now=timezone.now(), context={"api": True})
    return _as_item(done)
