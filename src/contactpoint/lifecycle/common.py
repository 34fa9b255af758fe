"""Pieces every lifecycle step shares: sealed payloads, finding a child the user's authority is responsible
for, and the clear/sealed split of what is recorded."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import orjson

from contactpoint.access.models import User
from contactpoint.access.roles import Permission
from contactpoint.children.models import Child, ChildStatus
from contactpoint.errors import NotFound, PermissionDenied
from contactpoint.vault.cipher import ChildCipher

NOT_YOURS = "There is no record with that ContactPoint ID that your local authority is responsible for."


def new_key() -> str:
    return uuid.uuid4().hex


def seal(cipher: ChildCipher, kind: str, key: str, value: dict[str, Any]) -> bytes:
    """Seal a lifecycle payload with the child's data key, bound to its kind and row key (so a payload cannot be
    moved to another row, or to another child)."""
    return cipher.seal(f"lifecycle:{kind}:{key}", orjson.dumps(value, default=_default))


def unseal(cipher: ChildCipher, kind: str, key: str, blob: bytes) -> dict[str, Any]:
    return orjson.loads(cipher.open(f"lifecycle:{kind}:{key}", bytes(blob)))


def _default(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(type(value).__name__)


def day(raw: str | None) -> date | None:
    return date.fromisoformat(raw) if raw else None


def require(user: User, permission: Permission, message: str) -> None:
    if not user.has(permission):
        raise PermissionDenied(message)


def authority_child(user: User, cpid: str, *, statuses: tuple[str, ...] = (ChildStatus.LIVE,),
                    lock: bool = False) -> Child:
    """The child with this ContactPoint ID, if the user's local authority is responsible for them and the
    record is in one of ``statuses``. Anything else is the same ``NotFound``: a data manager of another
    authority cannot tell a record that exists from one that does not."""
    la = user.organisation.la_code
    query = Child.objects.select_for_update() if lock else Child.objects
    child = query.filter(cpid=cpid).first()
    if child is None or not la or child.responsible_la != la or child.status not in statuses:
        raise NotFound(NOT_YOURS)
    return child
