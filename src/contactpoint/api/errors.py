"""Every refusal the machine interfaces make, translated in one place (STYLE.md habit 2).

``classify`` turns any exception into a ``Refusal``: an HTTP status, a stable ``code`` a client can branch on,
a message a person can act on and, where it helps, the field or the precondition concerned. The JSON API
renders a refusal as ``{"code": ..., "detail": ...}``; FHIR renders the same refusal as an OperationOutcome.
Nothing from the request is echoed back (a criterion may be a child's name), and an unexpected exception is
logged by type only and answered with a plain 500: never a stack trace.

    status  code                      when
    400     bad_request               POST /session or a dispute: a body that is not JSON
    401     authentication_failed     no token, or a token that is not (or no longer) valid
            not_right / locked        POST /session: the same words for every bad credential
            session_ended             the bearer token's session has ended (idle, 12 hours, account change)
    403     precondition_failed       a condition of access has lapsed (names which, and what to do)
            permission_denied         the role (or key) does not allow this operation
    404     not_found                 no such record visible to you (unknown, archived, sealed: the same)
    405     method_not_allowed
    409     conflict                  the record's state does not allow it now (a change already decided, awaiting
                                      approval, or your own proposal to approve)
    413     too_large
    415     unsupported_media_type    a feed whose format cannot be told from its Content-Type
    422     insufficient_criteria     the search does not meet the anti-trawling policy (says what to add)
            too_many_matches          more matches than the cap: add detail (no list, no count)
            invalid                   one value is wrong (``field`` names it)
            feed_rejected             the feed file as a whole cannot be taken
    429     rate_limited              the user's search limit is used up (raised to auditors)
    500     server_error              nothing was shown or changed
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from django.http import Http404
from ninja.errors import AuthenticationError, HttpError, Throttled
from ninja.errors import ValidationError as NinjaValidationError

from contactpoint import errors

log = logging.getLogger("contactpoint.api")

AUTHENTICATE = "Send a bearer token: Authorization: Bearer <token>."
NOT_FOUND = "There is nothing at this address. See docs/api.md for the operations."
SERVER_ERROR = "Sorry, there is a problem with the service. Nothing you asked for was shown or changed."


@dataclass(frozen=True)
class Refusal:
    status: int
    code: str
    detail: str
    extra: dict[str, Any] = field(default_factory=dict)

    def body(self) -> dict[str, Any]:
        return {"code": self.code, "detail": self.detail, **self.extra}


_SEARCH_STATUS = {"rate_limited": 429}


def _ninja_validation(exc: NinjaValidationError) -> Refusal:
    # Pydantic's errors carry the offending input: keep only where it was and what was wrong with it.
    problems = []
    for error in exc.errors:
        loc = [str(part) for part in error.get("loc", ()) if part not in ("query", "path", "body", "header")]
        problems.append({"field": ".".join(loc) or "request",
                         "reason": str(error.get("msg", "is not valid"))})
    first = problems[0] if problems else {"field": "request", "reason": "is not valid"}
    return Refusal(422, "invalid", f"{first['field']}: {first['reason']}",
                   {"field": first["field"], "errors": problems})


def classify(exc: BaseException) -> Refusal:
    if isinstance(exc, errors.AuthenticationFailed):
        return Refusal(401, exc.code, exc.message)
    if isinstance(exc, errors.PreconditionFailed):
        return Refusal(403, exc.code, exc.message, {"precondition": exc.precondition, "action": exc.action})
    if isinstance(exc, errors.AccessDenied):
        return Refusal(403, "permission_denied", exc.message)
    if isinstance(exc, errors.NotFound):
        return Refusal(404, "not_found", exc.message)
    if isinstance(exc, errors.SearchRefused):
        return Refusal(_SEARCH_STATUS.get(exc.code, 422), exc.code, exc.message)
    if isinstance(exc, errors.LifecycleError):
        return Refusal(409, "conflict", exc.message)
    if isinstance(exc, errors.ValidationError):
        return Refusal(422, "invalid", exc.message, {"field": exc.field})
    if isinstance(exc, errors.UnsupportedFeedType):
        return Refusal(415, "unsupported_media_type", exc.message)
    if isinstance(exc, errors.FeedTooLarge):
        return Refusal(413, "too_large", exc.message)
    if isinstance(exc, errors.FeedRejected):
        return Refusal(422, "feed_rejected", exc.message)
    if isinstance(exc, NinjaValidationError):
        return _ninja_validation(exc)
    if isinstance(exc, AuthenticationError):
        return Refusal(401, "authentication_failed", AUTHENTICATE)
    if isinstance(exc, Throttled):
        return Refusal(429, "rate_limited", "Too many requests. Try again later.")
    if isinstance(exc, HttpError) and exc.status_code == 400:
        return Refusal(400, "bad_request", "The request body cannot be read: send JSON (Content-Type "
                                           "application/json).")
    if isinstance(exc, HttpError):
        return Refusal(exc.status_code, "error", str(exc))
    if isinstance(exc, Http404):
        return Refusal(404, "not_found", NOT_FOUND)
    if isinstance(exc, errors.ContactPointError):
        # Vault, audit, matching: the service could not do it. Fail closed, say nothing about why.
        log.error("API request failed: %s (%s)", type(exc).__name__, exc.code)
        return Refusal(500, "server_error", SERVER_ERROR)
    log.error("API request failed: %s", type(exc).__name__)
    return Refusal(500, "server_error", SERVER_ERROR)


def handle_everything(ninja_api, handler) -> None:
    """Route every exception (ninja's own defaults included) through ``handler``: one format per interface."""
    for exc_class in {Exception, Http404, HttpError, NinjaValidationError, *ninja_api._exception_handlers}:
        ninja_api.add_exception_handler(exc_class, handler)
