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
    ├── MatchingError           the match model cannot run
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


class MatchingError(ContactPointError):
    code = "matching"


class LifecycleError(ContactPointError):
    code = "lifecycle"
