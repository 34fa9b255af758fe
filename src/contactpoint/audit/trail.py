"""``record_event``: the one way anything is written to the audit trail.

Every action (search, view, change, refusal, login, grant, shielding, review decision, export) calls it with
who, which organisation, when, why and the outcome. It appends one link to the hash chain in the caller's
transaction: if the caller's work rolls back, so does its entry, and if the entry cannot be written the
caller's work fails with it, so data is never returned without its audit entry (fail closed). On PostgreSQL,
called outside a transaction, concurrent writers' entries are linked in groups (see "group commit" below).

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
from contactpoint.audit.models import AuditDetailKey, AuditEntry, AuditPending
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
    """Append one entry to the audit trail and return it, linked into the chain.

    ``target_user`` is the account acted on (for account history); ``subjects`` are ContactPoint IDs (or other
    record IDs); ``context`` is stored in clear and must hold no personal data; ``detail`` holds whatever
    personal detail the entry needs and is stored encrypted.
    Raises ``AuditError`` if the entry cannot be written; callers let it propagate (fail closed)."""
    at = (at or datetime.now(UTC)).astimezone(UTC)
    context = dict(context or {})
    _check_context(context)
    _check_context(list(subjects), "subjects")
    sealed, epoch = _seal_detail(keyring, detail, at) if detail else ("", "")
    fields = {
        "at": at, "action": str(action), "outcome": str(outcome), "severity": str(severity), "actor": actor.name,
        "actor_org": actor.organisation, "actor_role": actor.role, "reason": reason, "target_user": target_user,
        "subjects": list(subjects), "context": context, "detail": sealed, "detail_key": epoch,
    }
    try:
        if connection.vendor == "postgresql" and not connection.in_atomic_block:
            return _append_grouped(fields)
        # Inside the caller's transaction the entry must commit or roll back with the caller's work, so it is
        # linked in that transaction, holding the head until the caller commits. On SQLite every writer holds
        # the database's one write lock anyway, so grouping would only add a second commit.
        with transaction.atomic(), connection.cursor() as cursor:
            head_seq, head_hash = _lock_head(cursor)
            entry = _link(fields, head_seq + 1, head_hash)
            entry.save(force_insert=True)
            _set_head(cursor, entry)
            return entry
    except AuditError:
        raise
    except Exception as exc:  # the database refused: the caller's work must not go ahead
        raise AuditError("the audit trail could not be written; nothing was done") from exc


def _link(fields: Mapping[str, Any], seq: int, prev_hash: str, pending_id: int | None = None) -> AuditEntry:
    body = entry_body(seq=seq, prev_hash=prev_hash, **fields)
    return AuditEntry(seq=seq, prev_hash=prev_hash, hash=entry_hash(body), pending_id=pending_id,
                      **{**fields, "subjects": body["subjects"]})


def _set_head(cursor, entry: AuditEntry) -> None:
    cursor.execute("UPDATE audit_head SET seq = %s, hash = %s WHERE id = 1", [entry.seq, entry.hash])


# --- group commit (PostgreSQL) ------------------------------------------------------------------------------
#
# Linking an entry means holding the head from reading it until the new head is committed, and a commit waits
# for the WAL to reach disk (milliseconds). If every writer linked its own entry, appends would be strictly
# serial and no faster than one flush each, whatever the number of writers. Instead, a writer that finds
# another linking at the moment commits its entry to ``audit_pending`` (concurrent commits share flushes) and
# waits; whoever links next links every pending entry, in id order, in one transaction. Each entry is durable
# before ``record_event`` returns, linked when it returns, and the chain keeps one writer at a time.

_SEALER_LOCK = 0x434F4E54_41435450  # pg advisory lock key: one sealer at a time ("CONTACTP")
SEAL_BATCH = 500


def _append_grouped(fields: dict[str, Any]) -> AuditEntry:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [_SEALER_LOCK])
        if cursor.fetchone()[0]:
            # Nobody is linking: link whatever is pending, then this entry, in this one transaction.
            return _seal(cursor, own=fields)[-1]
        pending = AuditPending.objects.create(**fields)
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            # Wait for the sealer ahead (an advisory lock takes no transaction ID, so waiting costs no flush).
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_SEALER_LOCK])
            if not AuditPending.objects.filter(pk=pending.pk).exists():
                return AuditEntry.objects.get(pending_id=pending.pk)
            for entry in _seal(cursor):
                if entry.pending_id == pending.pk:
                    return entry


_PENDING_FIELDS = ("at", "action", "outcome", "severity", "actor", "actor_org", "actor_role", "reason",
                   "target_user", "subjects", "context", "detail", "detail_key")


def _seal(cursor, own: dict[str, Any] | None = None) -> list[AuditEntry]:
    """Link up to ``SEAL_BATCH`` pending entries, oldest first, and then ``own`` into the chain, and return the
    new entries. The caller holds the sealer lock."""
    head_seq, prev = _lock_head(cursor)
    pending = list(AuditPending.objects.order_by("id")[:SEAL_BATCH])
    entries: list[AuditEntry] = []
    for fields, pending_id in [*(({f: getattr(row, f) for f in _PENDING_FIELDS}, row.pk) for row in pending),
                               *([(own, None)] if own is not None else [])]:
        entries.append(_link(fields, head_seq + len(entries) + 1, prev, pending_id=pending_id))
        prev = entries[-1].hash
    if entries:
        AuditEntry.objects.bulk_create(entries)
        AuditPending.objects.filter(pk__in=[row.pk for row in pending]).delete()
        _set_head(cursor, entries[-1])
    return entries


def seal_pending() -> int:
    """Link every pending entry now, and return how many there were.

    A writer that died between committing its entry and seeing it linked leaves it pending; the next append
    links it, and a checkpoint or the monitor links it at the latest (neither may miss it)."""
    if connection.vendor != "postgresql":
        return 0
    linked = 0
    while AuditPending.objects.exists():
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_SEALER_LOCK])
            linked += len(_seal(cursor))
    return linked
