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
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from contactpoint.audit.chain import Checkpoint, Verdict, format_at, verify_rows
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


def verify_trail(keyring: KeyRing, checkpoints: Iterable[SignedCheckpoint] = (), *, record: bool = True,
                 at: datetime | None = None) -> Verdict:
    """Walk the whole chain. Signed checkpoints given (or stored in the database) must match it."""
    given = list(checkpoints)
    for c in given:
        check_signature(keyring, c)
    stored = [SignedCheckpoint(c.seq, c.hash, format_at(c.at), c.key_fingerprint, c.signature)
              for c in AuditCheckpoint.objects.all()]
    for c in stored:
        check_signature(keyring, c)
    seal_pending()
    head = AuditHead.objects.get(pk=1)
    rows = AuditEntry.objects.order_by("seq").iterator(chunk_size=5000)
    verdict = verify_rows(rows, head_seq=head.seq, head_hash=head.hash,
                          checkpoints=[Checkpoint(c.seq, c.hash) for c in (*given, *stored)])
    if record:
        AuditVerification.objects.create(at=at or datetime.now(UTC), intact=verdict.intact,
                                         entries=verdict.entries, message=str(verdict))
    return verdict
