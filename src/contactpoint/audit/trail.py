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
import logging
import os
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.db import IntegrityError, connection, transaction

from contactpoint import correlation
from contactpoint.audit.actions import AuditAction, Outcome, Severity
from contactpoint.audit.chain import GENESIS, SAFE_INT, entry_body, entry_hash
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

    @classmethod
    def operator(cls, name: str = "system:operator-cli") -> Actor:
        """The service's operator at the command line (or a named operator job)."""
        return cls(name=name, role="operator")


_CLEAR_TYPES = (str, int, bool, type(None))


def _check_context(value: Any, path: str = "context") -> None:
    # Context is stored in clear and hashed as canonical JSON, in Python and (on PostgreSQL) in the database:
    # plain, non-personal values only, of the kinds both hash alike. Floats are refused because their JSON form
    # is not stable across databases; keys must be ASCII and integers exact in JSON (within 2^53).
    if isinstance(value, Mapping):
        for k, v in value.items():
            if not isinstance(k, str) or not k.isascii():
                raise AuditError(f"{path} keys must be ASCII strings")
            _check_context(v, f"{path}.{k}")
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            _check_context(v, f"{path}[{i}]")
    elif not isinstance(value, _CLEAR_TYPES):
        raise AuditError(f"{path} holds a {type(value).__name__}; audit context takes str, int, bool or None")
    elif isinstance(value, int) and not -SAFE_INT <= value <= SAFE_INT:
        raise AuditError(f"{path} holds an integer too large to be exact in JSON")
    elif isinstance(value, str) and "\x00" in value:
        raise AuditError(f"{path} holds a NUL character")


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

def _read_head(cursor) -> tuple[int, str]:
    """The chain's tip. The caller holds the chain lock: on PostgreSQL the advisory lock below, on SQLite its
    write transaction (transactions begin IMMEDIATE, see settings)."""
    cursor.execute("SELECT seq, hash FROM audit_head WHERE id = 1")
    row = cursor.fetchone()
    if row is not None:
        return int(row[0]), row[1] or GENESIS
    # An empty trail (a new database, or a test database just flushed) starts at the genesis hash. A missing
    # head over existing entries means someone removed it: refuse rather than start a second chain.
    cursor.execute("SELECT 1 FROM audit_entry LIMIT 1")
    if cursor.fetchone() is not None:
        raise AuditError("the audit trail's head row is missing: the trail may have been tampered with")
    cursor.execute("INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, %s)", [GENESIS])
    return 0, GENESIS


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
    linked: bool = False,
) -> AuditEntry:
    """Append one entry to the audit trail and return it.

    The entry is durable when this returns. It is linked into the chain too (``seq`` set) unless, on
    PostgreSQL outside a transaction, another writer was linking at that moment: it is then linked moments later
    (see "group commit" below), and ``seq`` is None unless ``linked`` asks to wait for it.

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
        "request_id": correlation.current(),  # the request, command or job this is done for
    }
    try:
        if connection.vendor == "postgresql":
            return _append_postgresql(fields, wait=linked)
        with transaction.atomic(), connection.cursor() as cursor:
            head_seq, head_hash = _read_head(cursor)
            entry = _link(fields, head_seq + 1, head_hash)
            entry.save(force_insert=True)
            cursor.execute("UPDATE audit_head SET seq = %s, hash = %s WHERE id = 1", [entry.seq, entry.hash])
            return entry
    except AuditError:
        raise
    except Exception as exc:  # the database refused: the caller's work must not go ahead
        raise AuditError("the audit trail could not be written; nothing was done") from exc


_FIELDS = ("at", "action", "outcome", "severity", "actor", "actor_org", "actor_role", "reason", "target_user",
           "subjects", "context", "detail", "detail_key", "request_id")


def _link(fields: Mapping[str, Any], seq: int, prev_hash: str) -> AuditEntry:
    body = entry_body(seq=seq, prev_hash=prev_hash, **fields)
    return AuditEntry(seq=seq, prev_hash=prev_hash, hash=entry_hash(body),
                      **{**fields, "subjects": body["subjects"]})


# --- group commit (PostgreSQL) ------------------------------------------------------------------------------
#
# Linking an entry means holding the chain from reading its head until the new head is committed, and a commit
# waits for the WAL to reach disk. If every writer linked its own entry, appends would be strictly serial. So a
# writer that finds another linking at that moment commits its entry to ``audit_pending`` instead (concurrent
# commits share a flush) and goes on: the entry is durable, so the caller's work may proceed (fail closed still
# holds). Whoever holds the chain links every pending entry, in id order, in one transaction per batch, and
# after letting go looks again and links whatever was committed meanwhile, until nothing is pending or another
# writer has taken the chain (and with it that duty). So nothing stays pending unless a writer dies; the monitor
# and every checkpoint link such leftovers.
#
# The database does the linking (``audit_append``, ``audit_drain``: migration 0004), hashing exactly as
# ``contactpoint.audit.chain`` does, so an append is one statement (and one look for pending entries after it)
# instead of eight round trips, which were most of what an append cost. Verification stays in Python, so a bug
# in either hashing shows as a broken chain.
#
# Inside the caller's transaction the entry must commit or roll back with the caller's work, so it is linked
# there and then, holding the chain until the caller commits; the pending entries are linked after that commit.

_CHAIN_LOCK = 0x434F4E54_41435450  # the advisory lock that makes one linker at a time ("CONTACTP")
SEAL_BATCH = 500

_APPEND = ("SELECT pending_id, seq, prev_hash, entry_hash FROM audit_append("
           "%s, %s, %s, %s, %s, %s, %s, %s, %s, %s::jsonb, %s::jsonb, %s, %s, %s, %s, %s, %s)")


def _params(fields: Mapping[str, Any]) -> list[Any]:
    return [json.dumps(fields[f]) if f in ("subjects", "context") else fields[f] for f in _FIELDS]


def _append_postgresql(fields: dict[str, Any], *, wait: bool) -> AuditEntry:
    in_transaction = connection.in_atomic_block
    with connection.cursor() as cursor:
        cursor.execute(_APPEND, [*_params(fields), _CHAIN_LOCK, in_transaction, SEAL_BATCH])
        pending_id, seq, prev_hash, hash_ = cursor.fetchone()
    if in_transaction:
        transaction.on_commit(_drain_quietly)
    else:
        _drain_quietly()  # this entry is durable whatever happens next: the caller's work may go ahead
        if wait and seq is None:
            # Only for callers that need the entry's place in the chain: wait for the chain and link it.
            _drain(wait=True)
            seq, prev_hash, hash_ = (AuditEntry.objects.filter(pending_id=pending_id)
                                     .values_list("seq", "prev_hash", "hash").get())
    return AuditEntry(seq=seq, prev_hash=prev_hash or "", hash=hash_ or "", pending_id=pending_id, **fields)


def _drain(*, wait: bool = False) -> int:
    """Link pending entries until none is left, and return how many this call linked. Unless ``wait``, stop
    as soon as another writer holds the chain (that writer then drains)."""
    linked = 0
    while True:
        with connection.cursor() as cursor:
            cursor.execute("SELECT audit_drain(%s, %s, %s)", [_CHAIN_LOCK, wait, SEAL_BATCH])
            count = cursor.fetchone()[0]
        if count <= 0:
            return linked
        linked += count


def _drain_quietly() -> None:
    # Runs once the caller's entry is committed: a failure here leaves entries pending for the next writer or
    # the monitor, and must not be reported to the caller as a failure to write its own entry.
    try:
        _drain()
    except Exception:
        logging.getLogger("contactpoint.audit").exception("could not link pending audit entries; will retry")


def seal_pending() -> int:
    """Link every pending entry now, waiting for the chain if need be, and return how many there were.

    A writer that died between committing its entry and linking it leaves it pending; the next append links
    it, and a checkpoint, a verification or the monitor links it at the latest (none of them may miss it)."""
    return _drain(wait=True) if connection.vendor == "postgresql" else 0
