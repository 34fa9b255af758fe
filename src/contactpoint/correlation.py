"""The id of the request, command or job that work is being done for.

Every audit entry carries it (``AuditEntry.request_id``), so that an auditor can put together everything one
request did, and an operator can go from an entry to the request's log lines and back: the web answers with it
in ``X-Request-ID``. The web's middleware sets it for each request, ``ContactPointCommand`` for each command,
the worker for each job. A context variable, so threads and asyncio tasks each have their own. It is never
personal data: a random id, or one a trusted proxy gave (checked by the middleware).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

MAX_LENGTH = 64
_SAFE = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")  # what an id from outside may look like
_current: ContextVar[str] = ContextVar("contactpoint_request_id", default="")


def new_id(kind: str = "") -> str:
    """A fresh id: 32 hex digits, after ``kind:`` for work that is not a web request ("cli", "job")."""
    return f"{kind}:{uuid.uuid4().hex}" if kind else uuid.uuid4().hex


def acceptable(value: str) -> bool:
    """Whether an id from outside (a proxy's ``X-Request-ID``) may be used as it is."""
    return bool(_SAFE.match(value))


@contextmanager
def scope(request_id: str) -> Iterator[str]:
    """Work done inside is for ``request_id``."""
    token = _current.set(request_id[:MAX_LENGTH])
    try:
        yield request_id
    finally:
        _current.reset(token)


def current() -> str:
    return _current.get()
