"""Signed checkpoints and verification of the whole trail.

A checkpoint says "the chain was ``seq`` entries long and ended in ``hash``", signed with the key ring's
Ed25519 key. Checkpoints are kept in the database and appended (one JSON line each) to an outside witness
file, which should live where the database's administrators cannot write: then rewriting or truncating the
trail is detected even by someone with full database access.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.db import connection

from contactpoint.audit.chain import (
    GENESIS,
    Checkpoint,
    StoredEntry,
    Verdict,
    body_of_row,
    entry_hash,
    format_at,
    verify_rows,
)
from contactpoint.audit.models import AuditCheckpoint, AuditEntry, AuditHead, AuditVerification
from contactpoint.audit.trail import seal_pending
from contactpoint.errors import AuditError
from contactpoint.vault.keyring import KeyRing

FORMAT = "contactpoint-audit-checkpoint/1"


def key_fingerprint(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


@dataclass(frozen=True)
class SignedCheckpoint:
    seq: int
    hash: str
    at: str
    key: str
    signature: str

    def body(self) -> dict:
        return {"format": FORMAT, "seq": self.seq, "hash": self.hash, "at": self.at, "key": self.key}

    def to_json(self) -> str:
        return json.dumps({**self.body(), "signature": self.signature}, sort_keys=True)


def sign_checkpoint(keyring: KeyRing, seq: int, digest: str, at: datetime) -> SignedCheckpoint:
    unsigned = SignedCheckpoint(seq, digest, format_at(at), key_fingerprint(keyring.verify_key()), "")
    signature = keyring.signing_key().sign(rfc8785.dumps(unsigned.body()))
    return SignedCheckpoint(seq, digest, unsigned.at, unsigned.key, base64.b64encode(signature).decode())


def check_signature(keyring: KeyRing, checkpoint: SignedCheckpoint) -> None:
    public = keyring.verify_key()
    if checkpoint.key != key_fingerprint(public):
        raise AuditError(f"checkpoint at entry {checkpoint.seq} was signed by an unknown key")
    try:
        public.verify(base64.b64decode(checkpoint.signature), rfc8785.dumps(checkpoint.body()))
    except (InvalidSignature, ValueError):
        raise AuditError(f"checkpoint at entry {checkpoint.seq} has a bad signature (forged or altered)") from None


def write_checkpoint(keyring: KeyRing, out: Path | None = None, at: datetime | None = None) -> SignedCheckpoint:
    """Sign the current head; store it and, if ``out`` is given, append it to that witness file."""
    at = at or datetime.now(UTC)
    seal_pending()
    head = AuditHead.objects.get(pk=1)
    checkpoint = sign_checkpoint(keyring, head.seq, head.hash, at)
    AuditCheckpoint.objects.create(seq=checkpoint.seq, hash=checkpoint.hash, at=at, key_fingerprint=checkpoint.key,
                                   signature=checkpoint.signature)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(out, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        with os.fdopen(fd, "a") as fh:
            fh.write(checkpoint.to_json() + "\n")
            fh.flush()
            os.fsync(fh.fileno())
    return checkpoint


def read_checkpoint_file(path: Path) -> list[SignedCheckpoint]:
    try:
        lines = path.read_text().splitlines()
    except OSError:
        raise AuditError(f"cannot read checkpoint file {path}") from None
    out = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            if raw.get("format") != FORMAT:
                raise ValueError
            out.append(SignedCheckpoint(int(raw["seq"]), raw["hash"], raw["at"], raw["key"], raw["signature"]))
        except (ValueError, KeyError, TypeError):
            raise AuditError(f"{path} line {number} is not a ContactPoint audit checkpoint") from None
    return out


def signed_checkpoints(keyring: KeyRing, given: Iterable[SignedCheckpoint] = ()) -> list[SignedCheckpoint]:
    """The checkpoints given (from a witness) and those stored, each signature checked (``AuditError`` if one
    is forged or altered)."""
    found = list(given)
    found += [SignedCheckpoint(c.seq, c.hash, format_at(c.at), c.key_fingerprint, c.signature)
              for c in AuditCheckpoint.objects.all()]
    for c in found:
        check_signature(keyring, c)
    return found


HASHED = ("seq", "at", "action", "outcome", "severity", "actor", "actor_org", "actor_role", "reason", "target_user",
          "subjects", "context", "detail", "detail_key", "request_id", "prev_hash", "hash")


# What the hash covers, as ``StoredEntry`` holds it: the time in the form ``format_at`` gives a UTC time (the form
# the database's own linking hashes, migration 0005), the JSON as text. Django's time conversion, run in Python
# for every row, was half the cost of reading the trail.
_STORED = ("SELECT seq, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US') || '+00:00', action, outcome, "
           "severity, actor, actor_org, actor_role, reason, target_user, subjects::text, context::text, detail, "
           "detail_key, request_id, prev_hash, hash FROM audit_entry WHERE seq > %s AND seq <= %s ORDER BY seq")
CHUNK = 5000


def entries_between(after: int, upto: int) -> Iterator[Any]:
    """The entries after ``after`` up to ``upto``, in order, as tuples of what the hash covers (a walk reads
    millions: tuples cost a third of what model instances do), streamed. Bounded by the head read before the
    walk, so that entries linked while it runs are left to the next."""
    if connection.vendor == "postgresql":
        return _stored_between(after, upto)
    return AuditEntry.objects.filter(seq__gt=after, seq__lte=upto).order_by("seq").values_list(*HASHED, named=True) \
        .iterator(chunk_size=CHUNK)


def _stored_between(after: int, upto: int) -> Iterator[StoredEntry]:
    make = StoredEntry._make
    with connection.chunked_cursor() as cursor:  # a server-side cursor: the walk holds one chunk at a time
        cursor.execute(_STORED, [after, upto])
        while chunk := cursor.fetchmany(CHUNK):
            yield from map(make, chunk)


def beyond_head(verdict: Verdict) -> Verdict:
    """``verdict`` unless the trail holds entries after the head: the head set back over entries still there
    (the walk stops at the head it read first, so that entries linked meanwhile are not taken for a break). One
    statement, so the head and the entries are read at one moment."""
    if not verdict.intact:
        return verdict
    with connection.cursor() as cursor:
        cursor.execute("SELECT h.seq FROM audit_head AS h WHERE h.id = 1 AND EXISTS "
                       "(SELECT 1 FROM audit_entry AS e WHERE e.seq > h.seq)")
        row = cursor.fetchone()
    if row is None:
        return verdict
    return replace(verdict, intact=False, first_bad_seq=row[0] + 1,
                   problem=f"the trail holds entries after its head (entry {row[0]}): the head was set back")


def anchor_problem(checkpoint: Checkpoint, *, what: str = "the signed checkpoint") -> str:
    """"" when the stored entry a walk starts from is still the one ``what`` (a signed checkpoint, or where a
    slice of the full walk stopped) recorded: present, with the same hash, its content still hashing to it; else
    what is wrong. A walk that starts there trusts what came before."""
    if checkpoint.seq == 0:
        return ""
    row = AuditEntry.objects.filter(seq=checkpoint.seq).first()
    if row is None:
        return f"entry {checkpoint.seq}, where {what} ends, is missing: the trail was truncated"
    if row.hash != checkpoint.hash or entry_hash(body_of_row(row)) != checkpoint.hash:
        return f"entry {checkpoint.seq} differs from {what} (the trail was rewritten)"
    return ""


def verify_trail(keyring: KeyRing, checkpoints: Iterable[SignedCheckpoint] = (), *, record: bool = True,
                 at: datetime | None = None) -> Verdict:
    """Walk the whole chain from its first entry. Signed checkpoints given (or stored) must match it.

    At national use this reads every entry ever written (hours at a billion): the worker does it in slices
    (``contactpoint.monitoring.health.full_walk_step``), and ``verify_recent`` is what runs hourly."""
    signed = signed_checkpoints(keyring, checkpoints)
    seal_pending()
    head = AuditHead.objects.get(pk=1)
    verdict = beyond_head(verify_rows(entries_between(0, head.seq), head_seq=head.seq, head_hash=head.hash,
                                      checkpoints=[Checkpoint(c.seq, c.hash) for c in signed]))
    if record:
        AuditVerification.objects.create(at=at or datetime.now(UTC), intact=verdict.intact, entries=verdict.entries,
                                         message=str(verdict), full=True, from_seq=0, last_seq=verdict.last_seq)
    return verdict


def verify_recent(keyring: KeyRing, checkpoints: Iterable[SignedCheckpoint] = (), *, record: bool = True,
                  at: datetime | None = None) -> Verdict:
    """Verify what was written since the last verification, in seconds however long the trail.

    The walk starts at the newest signed checkpoint that an intact verification had already passed (the entry
    there must still be the one signed), and goes to the head, checking every checkpoint on the way. What
    lies before that checkpoint is the full walk's to check; a rewrite that reaches a witnessed checkpoint is
    caught by the monitor's witness check at once."""
    signed = signed_checkpoints(keyring, checkpoints)
    seal_pending()
    head = AuditHead.objects.get(pk=1)
    passed = (AuditVerification.objects.filter(intact=True).order_by("-last_seq")
              .values_list("last_seq", flat=True).first() or 0)
    anchor = max((Checkpoint(c.seq, c.hash) for c in signed if 0 < c.seq <= min(passed, head.seq)),
                 key=lambda c: c.seq, default=Checkpoint(0, GENESIS))
    problem = anchor_problem(anchor)
    if problem:
        verdict = Verdict(False, 0, anchor.seq, anchor.hash, problem, anchor.seq, from_seq=anchor.seq)
    else:
        verdict = beyond_head(verify_rows(entries_between(anchor.seq, head.seq), head_seq=head.seq, head_hash=head.hash,
                                          checkpoints=[Checkpoint(c.seq, c.hash) for c in signed], after=anchor))
    if record:
        AuditVerification.objects.create(at=at or datetime.now(UTC), intact=verdict.intact, entries=verdict.entries,
                                         message=str(verdict), full=False, from_seq=anchor.seq,
                                         last_seq=verdict.last_seq)
    return verdict
