"""``record_event``: the one way anything is written to the audit trail.

Every action (search, view, change, refusal, login, grant, shielding, review decision, export) calls it with
who, which organisation, when, why and the outcome. It appends one link to the hash chain in the caller's
transaction: if the caller's work rolls back, so does its entry, and if the entry cannot be written the
caller's work fails with it, so data is never returned without its audit entry (fail closed).

Personal details (search criteria, free-text reasons) go in ``detail``: encrypted under the month's audit
detail key, so they can be read by auditors for ``audit_detail_years`` and then become unreadable, while the
chain, which hashes the ciphertext, still verifies.
"""

from __future__ import annotations

import base64
import json
import os
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.db import IntegrityError, connection, transaction

from contactpoint.audit.actions import AuditAction, Outcome, Severity
from contactpoint.audit.chain import GENESIS, entry_body, entry_hash
from contactpoint.audit.models import AuditDetailKey, AuditEntry
from contactpoint.errors import AuditError, VaultError
from contactpoint.vault.keyring import KeyRing

DETAIL_CONTEXT = b"contactpoint/audit-detail/v1\x00"


@dataclass(frozen=True)
class Actor:
    """Who did something. ``name`` is a username, ``system:<job>`` or ``source:<code>``."""

    name: str
    organisation: str = ""
    role: str = ""

    @classmethod
    def system(cls, job: str) -> Actor:
        return cls(name=f"system:{job}", role="system")


_CLEAR_TYPES = (str, int, bool, type(None))


def _check_context(value: Any, path: str = "context") -> None:
    # Context is stored in clear and hashed as canonical JSON: plain, non-personal values only. Floats are
    # refused because their JSON form is not stable across databases.
    if isinstance(value, Mapping):
        for k, v in value.items():
            if not isinstance(k, str):
                raise AuditError(f"{path} keys must be strings")
            _check_context(v, f"{path}.{k}")
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            _check_context(v, f"{path}[{i}]")
    elif not isinstance(value, _CLEAR_TYPES):
        raise AuditError(f"{path} holds a {type(value).__name__}; audit context takes str, int, bool or None")


# --- detail keys ---------------------------------------------------------------------------------------------

# Unwrapped month keys, per key ring (a process normally has one).
_detail_cache: dict[tuple[int, str], AESGCM] = {}
_detail_lock = threading.Lock()


def _epoch(at: datetime) -> str:
    return f"{at:%Y-%m}"


def _detail_aead(keyring: KeyRing, epoch: str, *, create: bool, now: datetime) -> AESGCM | None:
    with _detail_lock:
        aead = _detail_cache.get((id(keyring), epoch))
    if aead is not None:
        return aead
    context = DETAIL_CONTEXT + epoch.encode()
    row = AuditDetailKey.objects.filter(epoch=epoch).first()
    if row is None:
        if not create:
            return None
        key = AESGCM.generate_key(256)
        kek_id, wrapped = keyring.wrap(key, context)
        try:
            with transaction.atomic():
                AuditDetailKey.objects.create(epoch=epoch, kek_id=kek_id, wrapped=wrapped, created_at=now)
        except IntegrityError:
            # Another writer created this month's key first: use theirs.
            row = AuditDetailKey.objects.get(epoch=epoch)
    if row is not None:
        key = keyring.unwrap(row.kek_id, bytes(row.wrapped), context)
    aead = AESGCM(key)
    with _detail_lock:
        _detail_cache[(id(keyring), epoch)] = aead
    return aead


def forget_detail_keys(epochs: Sequence[str] | None = None) -> None:
    with _detail_lock:
        for key in list(_detail_cache):
            if epochs is None or key[1] in epochs:
                del _detail_cache[key]


def _seal_detail(keyring: KeyRing, detail: Mapping[str, Any], at: datetime) -> tuple[str, str]:
    epoch = _epoch(at)
    aead = _detail_aead(keyring, epoch, create=True, now=at)
    assert aead is not None
    nonce = os.urandom(12)
    plaintext = json.dumps(detail, sort_keys=True, default=str).encode()
    sealed = nonce + aead.encrypt(nonce, plaintext, DETAIL_CONTEXT + epoch.encode())
    return base64.b64encode(sealed).decode(), epoch


def read_detail(keyring: KeyRing, entry: AuditEntry) -> dict[str, Any] | None:
    """The decrypted details of an entry, or ``None`` when it has none or its month's key was destroyed."""
    if not entry.detail:
        return {}
    aead = _detail_aead(keyring, entry.detail_key, create=False, now=entry.at)
    if aead is None:
        return None
    sealed = base64.b64decode(entry.detail)
    try:
        plaintext = aead.decrypt(sealed[:12], sealed[12:], DETAIL_CONTEXT + entry.detail_key.encode())
    except InvalidTag:
        raise VaultError() from None
    return json.loads(plaintext)


# --- appending -----------------------------------------------------------------------------------------------

def _lock_head(cursor) -> tuple[int, str]:
    if connection.vendor == "postgresql":
        cursor.execute("SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE")
    else:
        # SQLite: transactions begin IMMEDIATE (settings), so holding any write transaction is the lock.
        cursor.execute("SELECT seq, hash FROM audit_head WHERE id = 1")
    row = cursor.fetchone()
    if row is None:
        # An empty trail (a new database, or a test database just flushed) starts at the genesis hash. A missing
        # head over existing entries means someone removed it: refuse rather than start a second chain.
        # Several PostgreSQL writers may find the head missing at once. Each tries to create it; the insert waits
        # for whichever got there first and then does nothing. Only the writer whose insert took effect checks
        # that the trail is empty: the others would see the first writer's entries and mistake them for tampering.
        if connection.vendor == "postgresql":
            cursor.execute("INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, %s) ON CONFLICT (id) DO NOTHING",
                           [GENESIS])
            created = cursor.rowcount == 1
        else:
            cursor.execute("INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, %s)", [GENESIS])
            created = True
        if created:
            cursor.execute("SELECT 1 FROM audit_entry LIMIT 1")
            if cursor.fetchone() is not None:
                raise AuditError("the audit trail's head row is missing: the trail may have been tampered with")
            return 0, GENESIS
        cursor.execute("SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE")
        row = cursor.fetchone()
    return int(row[0]), row[1] or GENESIS


def record_event(
    action: AuditAction,
    *,
    actor: Actor,
    keyring: KeyRing,
    outcome: Outcome = Outcome.SUCCESS,
    severity: Severity = Severity.INFO,
    reason: str = "",
    target_user: str = "",
    subjects: Sequence[str] = (),
    context: Mapping[str, Any] | None = None,
    detail: Mapping[str, Any] | None = None,
    at: datetime | None = None,
) -> AuditEntry:
    """Append one entry to the audit trail and return it.

    ``target_user`` is the account acted on (for account history); ``subjects`` are ContactPoint IDs (or other record IDs); ``context`` is stored in clear and must hold no
    personal data; ``detail`` holds whatever personal detail the entry needs and is stored encrypted.
    Raises ``AuditError`` if the entry cannot be written; callers let it propagate (fail closed)."""
    at = (at or datetime.now(UTC)).astimezone(UTC)
    context = dict(context or {})
    _check_context(context)
    _check_context(list(subjects), "subjects")
    sealed, epoch = _seal_detail(keyring, detail, at) if detail else ("", "")
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                head_seq, head_hash = _lock_head(cursor)
                seq = head_seq + 1
                body = entry_body(
                    seq=seq, at=at, action=str(action), outcome=str(outcome), severity=str(severity),
                    actor=actor.name, actor_org=actor.organisation, actor_role=actor.role, reason=reason,
                    target_user=target_user, subjects=list(subjects), context=context, detail=sealed,
                    detail_key=epoch, prev_hash=head_hash,
                )
                digest = entry_hash(body)
                entry = AuditEntry(
                    seq=seq, at=at, action=body["action"], outcome=body["outcome"], severity=body["severity"],
                    actor=actor.name, actor_org=actor.organisation, actor_role=actor.role, reason=reason,
                    target_user=target_user, subjects=body["subjects"], context=context, detail=sealed, detail_key=epoch,
                    prev_hash=head_hash, hash=digest,
                )
                entry.save(force_insert=True)
                cursor.execute("UPDATE audit_head SET seq = %s, hash = %s WHERE id = 1", [seq, digest])
    except AuditError:
        raise
    except Exception as exc:  # the database refused: the caller's work must not go ahead
        raise AuditError("the audit trail could not be written; nothing was done") from exc
    return entry
