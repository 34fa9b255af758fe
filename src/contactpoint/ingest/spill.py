"""A first load's accepted rows, kept on disk between reading and writing, sealed under a key no disk ever holds.

A load decides every record's child before it writes any (``ingest.load``), so each row read at the start is
needed again at the end, in the order of the children it makes, not of its file. Held in memory, 40 million rows
would take most of a machine's memory for the whole load (3 KB a record measured at 3 million); read again from
the file, they come in file order. So the reader writes each row here, as it takes it, sealed with AES-256-GCM
under a key made for this file and this load alone, which lives in the memory of the load's processes only; the
writer reads any row back by its position.

Nothing on disk is a child's data in clear: the file is ciphertext under a key that dies with the load's
process. Once the load's main process has opened the file it unlinks it, so the file goes with the process,
killed or not (a load killed part-way reads its files again: ``ingest.load``).
"""

from __future__ import annotations

import os
import shutil
import struct
import uuid
from array import array
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import orjson
from cryptography.hazmat.primitives.ciphers.aead import AESGCM


@dataclass(frozen=True, slots=True)
class Stored:
    """One accepted row as the load writes it."""

    key: str  # the record key (keyed hash of source and record ID)
    content_hash: str
    line: int
    flags: tuple[tuple[str, str], ...]  # (field, reason) of each value the row was taken without
    payload: bytes  # the row (``source_records.dumps``), in clear once read back


def _nonce(position: int) -> bytes:
    # A key per file, a position per row: each nonce is used once under its key.
    return struct.pack(">4xQ", position)


class Spill:
    """A file's rows as written by ``SpillWriter``: sent from the reading process to the load's (pickled without
    the open file), then ``open``ed there, which unlinks the path."""

    __slots__ = ("path", "_key", "_offsets", "_fd", "_aead")

    def __init__(self, path: Path, key: bytes, offsets: array) -> None:
        self.path = path
        self._key = key
        self._offsets = offsets  # where each row starts, and the end of the last
        self._fd: int | None = None
        self._aead = AESGCM(key)

    def __reduce__(self) -> tuple:
        return (Spill, (self.path, self._key, self._offsets))

    def __len__(self) -> int:
        return len(self._offsets) - 1

    def open(self) -> None:
        if self._fd is None:
            self._fd = os.open(self.path, os.O_RDONLY)
            self.path.unlink(missing_ok=True)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        self.path.unlink(missing_ok=True)

    def get(self, position: int) -> Stored:
        if self._fd is None:
            self.open()
        assert self._fd is not None
        start, end = self._offsets[position], self._offsets[position + 1]
        blob = self._aead.decrypt(_nonce(position), os.pread(self._fd, end - start, start), None)
        (size,) = struct.unpack_from(">I", blob)
        key, content_hash, line, flags = orjson.loads(blob[4:4 + size])
        return Stored(key, content_hash, line, tuple(tuple(f) for f in flags), blob[4 + size:])


class SpillWriter:
    """Rows appended in order (position 0, 1, ...), each sealed as it is written."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.path = folder / f"{uuid.uuid4().hex}.spill"
        self._key = AESGCM.generate_key(256)
        self._aead = AESGCM(self._key)
        self._offsets = array("q", [0])
        self._file = open(os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb")  # noqa: SIM115

    def add(self, key: str, content_hash: str, line: int, flags: tuple[tuple[str, str], ...],
            payload: bytes) -> None:
        header = orjson.dumps([key, content_hash, line, flags])
        sealed = self._aead.encrypt(_nonce(len(self._offsets) - 1), struct.pack(">I", len(header)) + header + payload,
                                    None)
        self._file.write(sealed)
        self._offsets.append(self._offsets[-1] + len(sealed))

    def finish(self) -> Spill:
        self._file.close()
        return Spill(self.path, self._key, self._offsets)

    def discard(self) -> None:
        self._file.close()
        self.path.unlink(missing_ok=True)


@contextmanager
def writing(folder: Path) -> Iterator[SpillWriter]:
    """A ``SpillWriter`` whose file is removed if the reading fails."""
    writer = SpillWriter(folder)
    try:
        yield writer
    except BaseException:
        writer.discard()
        raise


def clear(folder: Path) -> None:
    """What an earlier attempt at a load left (a reader killed before the load opened its file): ciphertext whose key
    died with it, removed."""
    shutil.rmtree(folder, ignore_errors=True)


__all__ = ["Spill", "SpillWriter", "Stored", "clear", "writing"]
