"""Every refusal ContactPoint makes, as one tree.

Domain code raises these; the web pages, the JSON API, the FHIR API and the CLI each translate them into a
response in one place. Messages are written for the person who must act on them, and never contain a
child's personal data (they reach logs, screens and source systems).

    ContactPointError
    ├── ConfigurationError      settings or key ring unusable; refuses to start
    ├── ValidationError         one value is wrong (field + reason)
    ├── VaultError              a ciphertext or key cannot be used (deliberately generic)
    ├── AuditError              the audit trail could not be written or is not intact
    ├── AccessDenied            who you are or what you hold does not allow this
    │   ├── AuthenticationFailed    login refused (same message whatever was wrong)
    │   ├── PreconditionFailed      a condition of access has lapsed (names which, and what to do)
    │   └── PermissionDenied        your role does not include this permission
    ├── SearchRefused           the search does not meet the anti-trawling policy (says what to add)
    ├── NotFound                no such record visible to you
    ├── FeedRejected            a whole feed cannot be taken (bad rows are reported, not raised)
    │   ├── UnsupportedFeedType     the feed's format is not one ContactPoint reads
    │   └── FeedTooLarge            the feed is larger than this interface takes
    ├── IngestProcessFailed     a feed run's helper process stopped; nothing of the batch was taken
    ├── MatchingError           the match model cannot run
    │   └── ReviewRefused           a review decision cannot be made as asked
    ├── LeadNeedsConfirmation   someone else is the lead professional: confirm taking over
    └── LifecycleError          a lifecycle step is not allowed for this record
"""

from __future__ import annotations


class ContactPointError(Exception):
    """Base of every refusal. ``message`` is safe to show to the user who caused it."""

    code = "error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def __str__(self) -> str:
        return self.message


class ConfigurationError(ContactPointError):
    code = "configuration"


class ValidationError(ContactPointError):
    """One value failed validation. ``field`` names it; the message never repeats the value."""

    code = "invalid"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.reason = message


class VaultError(ContactPointError):
    """Decryption or key use failed. Always the same words, so that the error itself is no oracle."""

    code = "vault"

    def __init__(self, message: str = "the record could not be decrypted") -> None:
        super().__init__(message)


class AuditError(ContactPointError):
    code = "audit"


class AccessDenied(ContactPointError):
    code = "forbidden"


class AuthenticationFailed(AccessDenied):
    code = "authentication_failed"


class PreconditionFailed(AccessDenied):
    """A condition of access has lapsed. ``precondition`` is its key; ``action`` tells the user what to do."""

    code = "precondition_failed"

    def __init__(self, precondition: str, message: str, action: str) -> None:
        super().__init__(message)
        self.precondition = precondition
        self.action = action


class PermissionDenied(AccessDenied):
    code = "permission_denied"


class SearchRefused(ContactPointError):
    """The search breaks the anti-trawling policy. ``code`` is ``insufficient_criteria``,
    ``too_many_matches``, ``rate_limited`` or ``invalid_criteria``."""

    code = "insufficient_criteria"


class NotFound(ContactPointError):
    code = "not_found"


class FeedRejected(ContactPointError):
    code = "feed_rejected"


class UnsupportedFeedType(FeedRejected):
    code = "unsupported_media_type"


class FeedTooLarge(FeedRejected):
    code = "too_large"


class FeedBusy(ContactPointError):
    """The same feed file is being taken in by another process right now (a second worker, a command typed while
    the worker runs it): this one leaves it to that one. Not a ``FeedRejected``: nothing is wrong with the file."""

    code = "feed_busy"

    def __init__(self) -> None:
        super().__init__("this file is being taken in by another process right now: it will finish it")


class IngestProcessFailed(ContactPointError):
    """A helper process of a feed run stopped or raised: the batch is not taken (it is taken again when the feed
    is re-run). ``where`` names the step, never a value. Not a ``FeedRejected``: the feed itself is fine."""

    def __init__(self, where: str) -> None:
        super().__init__(f"a feed helper process failed ({where}); nothing of this batch was taken: "
                         "send the feed again to complete it")


class JobFailed(ContactPointError):
    """A job of ``contactpoint worker`` failed (``ingest.jobs``). Raised in place of whatever escaped the job,
    whose message could quote a value, since the queue keeps a failed task's traceback."""


class MatchingError(ContactPointError):
    code = "matching"


class ReviewRefused(MatchingError):
    """A review decision cannot be made as asked (already decided, a child no longer live, ...)."""

    code = "review_refused"


class LeadNeedsConfirmation(ContactPointError):
    """Someone else is the child's current lead professional: the practitioner must confirm taking over.
    ``holder`` describes them, or is empty where naming them would reveal what this user may not see."""

    code = "lead_confirmation"

    def __init__(self, holder: str, *, message: str = "") -> None:
        who = holder or "Another practitioner"
        super().__init__(message or f"{who} is recorded as the lead professional. Confirm that you are taking over "
                                    f"as lead professional.")
        self.holder = holder


class LifecycleError(ContactPointError):
    code = "lifecycle"
