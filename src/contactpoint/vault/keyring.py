"""The key ring: the keys that live outside the database.

It holds
- key-encrypting keys (KEKs) that wrap every child's data key and every audit-detail key; one is active,
  others are *retiring* while a rotation runs and are destroyed when it finishes;
- the blind-index root key, from which one key per index is derived with HKDF (it never rotates without a
  re-index, because tokens must stay comparable);
- the Ed25519 key that signs audit checkpoints.

``KeyRing`` is the small interface the rest of the code uses; ``FileKeyRing`` keeps the keys in a JSON file
(mode 0600) for development and small installations. A KMS or HSM implementation provides the same four
operations: wrap, unwrap, index key, signing key.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import json
import os
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from contactpoint.config import check_private_file, get_settings, write_private_file
from contactpoint.errors import ConfigurationError, VaultError

FORMAT = "contactpoint-keyring/1"
_WRAP_CONTEXT = b"contactpoint/wrap/v1\x00"
RETENTION_PREFIX = "ret-"  # KEKs that wrap archived records' keys until their deletion month
_NONCE = 12


class IndexKeyRing(Protocol):
    """The part of a key ring that keyed hashes (blind-index tokens, record keys) need: a ``KeyRing``, or the
    index keys alone that ``ingest.work.IndexKeys`` carries to helper processes."""

    def index_key(self, index_name: str) -> bytes: ...


class KeyRing(Protocol):
    @property
    def active_kek_id(self) -> str: ...

    def wrap(self, key: bytes, context: bytes) -> tuple[str, bytes]:
        """Encrypt ``key`` under the active KEK, bound to ``context``; returns (kek_id, wrapped)."""

    def unwrap(self, kek_id: str, wrapped: bytes, context: bytes) -> bytes: ...

    def index_key(self, index_name: str) -> bytes: ...

    def signing_key(self) -> Ed25519PrivateKey: ...

    def verify_key(self) -> Ed25519PublicKey: ...


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _unb64(text: str) -> bytes:
    return base64.b64decode(text.encode(), validate=True)


@dataclass(frozen=True)
class KeyRingDescription:
    environment: str
    active_kek_id: str
    retiring_kek_ids: tuple[str, ...]
    signing_key_fingerprint: str


def _new_kek_id(now: datetime) -> str:
    return f"kek-{now:%Y%m%d%H%M%S}-{secrets.token_hex(3)}"


def create_keyring_file(path: Path, environment: str = "development", now: datetime | None = None) -> None:
    if path.exists():
        raise ConfigurationError(f"a key ring already exists at {path}; it is never overwritten")
    now = now or datetime.now(UTC)
    kek_id = _new_kek_id(now)
    signing = Ed25519PrivateKey.generate()

    doc = {
        "format": FORMAT,
        "environment": environment,
        "created": now.isoformat(),
        "keks": [{"id": kek_id, "key": _b64(AESGCM.generate_key(256)), "created": now.isoformat(),
                  "state": "active"}],
        "index_root": _b64(secrets.token_bytes(32)),
        "signing_key": _b64(signing.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                                   serialization.NoEncryption())),
    }
    write_private_file(path, json.dumps(doc, indent=2).encode())


def _read(path: Path) -> dict:
    if not path.exists():
        raise ConfigurationError(f"no key ring at {path}")
    check_private_file(path, "the key ring")
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError):
        raise ConfigurationError(f"the key ring at {path} cannot be read") from None
    if doc.get("format") != FORMAT:
        raise ConfigurationError(f"the key ring at {path} is not a {FORMAT} file")
    return doc


def describe_keyring(path: Path) -> KeyRingDescription:
    ring = FileKeyRing(path)
    return ring.describe()


class FileKeyRing:
    """A key ring in a JSON file. Thread-safe; re-reads the file when it meets a KEK it does not know, so
    that a rotation run by another process is picked up without a restart."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._load()

    def _load(self) -> None:
        self._mtime = self.path.stat().st_mtime_ns if self.path.exists() else 0
        doc = _read(self.path)
        self._doc = doc
        self._keks = {k["id"]: AESGCM(_unb64(k["key"])) for k in doc["keks"]}
        active = [k["id"] for k in doc["keks"] if k["state"] == "active"]
        if len(active) != 1:
            raise ConfigurationError(f"the key ring at {self.path} must have exactly one active KEK")
        self._active = active[0]
        self._index_root = _unb64(doc["index_root"])
        self._signing = Ed25519PrivateKey.from_private_bytes(_unb64(doc["signing_key"]))
        self._index_keys: dict[str, bytes] = {}

    def reload(self) -> None:
        with self._lock:
            self._load()

    @contextmanager
    def _changing(self) -> Iterator[dict]:
        """Change the ring: one writer at a time across processes (a lock file beside the ring), starting from
        what is on disk now, so that a rotation and the lifecycle run never undo each other's changes."""
        lock_path = self.path.with_name(self.path.name + ".lock")
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            with self._lock:
                fcntl.flock(fd, fcntl.LOCK_EX)
                try:
                    self._load()
                    doc = json.loads(json.dumps(self._doc))
                    yield doc
                    write_private_file(self.path, json.dumps(doc, indent=2).encode())
                    self._load()
                finally:
                    fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    @property
    def environment(self) -> str:
        return self._doc["environment"]

    @property
    def active_kek_id(self) -> str:
        return self._active

    @property
    def retiring_kek_ids(self) -> tuple[str, ...]:
        return tuple(k["id"] for k in self._doc["keks"] if k["state"] == "retiring")

    def describe(self) -> KeyRingDescription:
        public = self._signing.public_key().public_bytes(serialization.Encoding.Raw,
                                                          serialization.PublicFormat.Raw)
        return KeyRingDescription(
            environment=self.environment,
            active_kek_id=self._active,
            retiring_kek_ids=self.retiring_kek_ids,
            signing_key_fingerprint=hashlib.sha256(public).hexdigest()[:16],
        )

    # -- wrapping ------------------------------------------------------------------------------------------

    def wrap(self, key: bytes, context: bytes) -> tuple[str, bytes]:
        # Another process may have begun a rotation: never wrap a new key under a KEK that is retiring.
        if self.path.stat().st_mtime_ns != self._mtime:
            self.reload()
        nonce = os.urandom(_NONCE)
        return self._active, nonce + self._keks[self._active].encrypt(nonce, key, _WRAP_CONTEXT + context)

    def unwrap(self, kek_id: str, wrapped: bytes, context: bytes) -> bytes:
        aead = self._keks.get(kek_id)
        if aead is None:
            self.reload()
            aead = self._keks.get(kek_id)
            if aead is None:
                raise VaultError()
        try:
            return aead.decrypt(wrapped[:_NONCE], wrapped[_NONCE:], _WRAP_CONTEXT + context)
        except (InvalidTag, ValueError):
            raise VaultError() from None

    # -- derived keys ----------------------------------------------------------------------------------------

    def index_key(self, index_name: str) -> bytes:
        key = self._index_keys.get(index_name)
        if key is None:
            key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                       info=b"contactpoint/blind-index/v1/" + index_name.encode()).derive(self._index_root)
            self._index_keys[index_name] = key
        return key

    def signing_key(self) -> Ed25519PrivateKey:
        return self._signing

    def verify_key(self) -> Ed25519PublicKey:
        return self._signing.public_key()

    # -- rotation --------------------------------------------------------------------------------------------

    def begin_rotation(self, now: datetime | None = None) -> str:
        """Add a new active KEK; the old one becomes *retiring* until every wrapped key has moved."""
        now = now or datetime.now(UTC)
        new_id = _new_kek_id(now)
        with self._changing() as doc:
            for k in doc["keks"]:
                if k["state"] == "active":
                    k["state"] = "retiring"
            doc["keks"].append({"id": new_id, "key": _b64(AESGCM.generate_key(256)), "created": now.isoformat(),
                                "state": "active"})
        return new_id

    def destroy_retiring(self) -> tuple[str, ...]:
        """Forget every retiring KEK. Anything still wrapped by one becomes undecryptable for good."""
        with self._changing() as doc:
            gone = tuple(k["id"] for k in doc["keks"] if k["state"] == "retiring")
            doc["keks"] = [k for k in doc["keks"] if k["state"] != "retiring"]
        return gone

    # -- retention KEKs (crypto-shredding that reaches backups; contactpoint.lifecycle.retention) ------------

    def retention_kek(self, epoch: str) -> str:
        """The KEK for data keys of records to be deleted in month ``epoch`` (``YYYY-MM``), created on first use.
        It never becomes active and rotation leaves what it wraps alone: it lives exactly as long as its
        records, and destroying it makes every copy of their wrapped keys (backups included) useless."""
        kek_id = RETENTION_PREFIX + epoch
        if kek_id in self._keks:
            return kek_id
        with self._changing() as doc:
            if all(k["id"] != kek_id for k in doc["keks"]):  # another process may have added it already
                doc["keks"].append({"id": kek_id, "key": _b64(AESGCM.generate_key(256)),
                                    "created": datetime.now(UTC).isoformat(), "state": "retention"})
        return kek_id

    @property
    def retention_kek_ids(self) -> tuple[str, ...]:
        return tuple(k["id"] for k in self._doc["keks"] if k["state"] == "retention")

    def wrap_under(self, kek_id: str, key: bytes, context: bytes) -> tuple[str, bytes]:
        """Like ``wrap``, under a named retention KEK."""
        if kek_id not in self._keks:
            self.reload()
        if not kek_id.startswith(RETENTION_PREFIX) or kek_id not in self._keks:
            raise VaultError()
        nonce = os.urandom(_NONCE)
        return kek_id, nonce + self._keks[kek_id].encrypt(nonce, key, _WRAP_CONTEXT + context)

    def destroy_retention_kek(self, kek_id: str) -> bool:
        """Forget a retention KEK for good. Returns whether it was there."""
        if not kek_id.startswith(RETENTION_PREFIX):
            raise VaultError()
        with self._changing() as doc:
            kept = [k for k in doc["keks"] if k["id"] != kek_id]
            found = len(kept) != len(doc["keks"])
            doc["keks"] = kept
        return found


_rings: dict[Path, FileKeyRing] = {}
_rings_lock = threading.Lock()


def get_keyring() -> FileKeyRing:
    """The process's key ring, from ``CONTACTPOINT_KEYRING``. In development a missing ring is created."""

    settings = get_settings()
    path = settings.keyring_path
    with _rings_lock:
        ring = _rings.get(path)
        if ring is None:
            if not path.exists() and not settings.is_production:
                create_keyring_file(path, "development")
            ring = FileKeyRing(path)
            if settings.is_production and ring.environment != "production":
                raise ConfigurationError("a development key ring cannot be used in production")
            _rings[path] = ring
        return ring


def forget_keyrings() -> None:
    """Drop cached key rings (tests that swap ``CONTACTPOINT_KEYRING``)."""
    with _rings_lock:
        _rings.clear()
