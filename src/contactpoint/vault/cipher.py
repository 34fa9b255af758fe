"""Envelope encryption of child records (DESIGN.md section 4).

Each child has its own 256-bit data key. Record fields are sealed with AES-256-GCM under that key, with
associated data naming the child and the field, so a ciphertext moved to another child or another field fails
to open. The data key is stored only wrapped by the key ring's active KEK, bound to the child's ID.
Destroying the wrapped data key (crypto-shredding) makes every copy of the child's ciphertext useless.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from contactpoint.errors import VaultError
from contactpoint.vault.keyring import KeyRing

_VERSION = b"\x01"
_NONCE = 12
_FIELD_CONTEXT = b"contactpoint/field/v1\x00"
_DEK_CONTEXT = b"contactpoint/dek/v1\x00"


def dek_context(cpid: str) -> bytes:
    return _DEK_CONTEXT + cpid.encode()


class ChildCipher:
    """Seals and opens one child's field groups with that child's data key."""

    __slots__ = ("_aead", "_prefix")

    def __init__(self, cpid: str, data_key: bytes) -> None:
        self._aead = AESGCM(data_key)
        self._prefix = _FIELD_CONTEXT + cpid.encode() + b"\x00"

    def seal(self, field: str, plaintext: bytes) -> bytes:
        nonce = os.urandom(_NONCE)
        return _VERSION + nonce + self._aead.encrypt(nonce, plaintext, self._prefix + field.encode())

    def open(self, field: str, sealed: bytes) -> bytes:
        if len(sealed) < 1 + _NONCE + 16 or sealed[:1] != _VERSION:
            raise VaultError()
        try:
            return self._aead.decrypt(sealed[1:1 + _NONCE], sealed[1 + _NONCE:], self._prefix + field.encode())
        except InvalidTag:
            raise VaultError() from None


def new_data_key() -> bytes:
    return AESGCM.generate_key(256)


def new_child_key(keyring: KeyRing, cpid: str) -> tuple[ChildCipher, str, bytes]:
    """A fresh data key for a new child: the cipher to use now, and (kek_id, wrapped key) to store."""
    data_key = new_data_key()
    return ChildCipher(cpid, data_key), *wrap_data_key(keyring, cpid, data_key)


def wrap_data_key(keyring: KeyRing, cpid: str, data_key: bytes) -> tuple[str, bytes]:
    """(KEK ID, the data key wrapped under it), to store."""
    return keyring.wrap(data_key, dek_context(cpid))


def open_child_key(keyring: KeyRing, cpid: str, kek_id: str, wrapped: bytes) -> ChildCipher:
    return ChildCipher(cpid, unwrap_data_key(keyring, cpid, kek_id, wrapped))


def unwrap_data_key(keyring: KeyRing, cpid: str, kek_id: str, wrapped: bytes) -> bytes:
    """A child's data key in clear: only for handing to a feed's helper process (``ChildCipher`` otherwise)."""
    return keyring.unwrap(kek_id, bytes(wrapped), dek_context(cpid))
