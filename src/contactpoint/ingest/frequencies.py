"""Counting the national term frequencies (``matching.frequencies``): from the index as it stands (one value of
each kind per live child, from their best views), or from the source files of a first load before it runs (one per
accepted row). ``contactpoint match frequencies``."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

from contactpoint import bulk
from contactpoint.children.models import ChildStatus
from contactpoint.children.record import decode_groups
from contactpoint.errors import VaultError
from contactpoint.feeds.reading import accepted_rows, kind_of
from contactpoint.matching import frequencies
from contactpoint.matching.profile import profile
from contactpoint.names import normalise_name
from contactpoint.vault.cipher import ChildCipher, unwrap_data_key
from contactpoint.vault.keyring import KeyRing

logger = logging.getLogger(__name__)

_CHUNK = 2000


def from_files(paths: Iterable[Path], *, today: date) -> dict[str, Counter[str]]:
    """The values of every row the files' validation accepts, profiled as the feeds profile them."""
    def rows() -> Iterator[dict[str, Any]]:
        for path in paths:
            for row in accepted_rows(path, today):
                yield profile(row.source_record_id, kind_of(path.stem), row)
    return frequencies.count(rows())


def from_index(keyring: KeyRing) -> dict[str, Counter[str]]:
    """The best view's names and postcode of every live child (decrypted in memory, a chunk at a time)."""
    ids = [child_id for (child_id,) in bulk.select_any(
        "SELECT id FROM children_child WHERE status {any} ORDER BY id", [ChildStatus.LIVE.value])]

    def views() -> Iterator[dict[str, Any]]:
        for start in range(0, len(ids), _CHUNK):
            for cpid, names, whereabouts, kek_id, wrapped in bulk.select_any(
                    "SELECT c.cpid, c.names, c.whereabouts, k.kek_id, k.wrapped FROM children_child c "
                    "JOIN vault_data_key k ON k.child_id = c.id WHERE c.id {any}", ids[start:start + _CHUNK]):
                try:
                    cipher = ChildCipher(cpid, unwrap_data_key(keyring, cpid, kek_id, wrapped))
                    held = decode_groups(cpid, {"names": cipher.open("names", bytes(names)),
                                                "whereabouts": cipher.open("whereabouts", bytes(whereabouts))})
                except VaultError:  # one damaged record is one child fewer in the counts, not no counts at all
                    logger.error("term frequencies: a child's record cannot be opened; left out of the counts")
                    continue
                name = held["name"].value if held.get("name") else None
                place = held.get("whereabouts")
                address = place.value.address if place is not None else None
                yield {"given": normalise_name(name.given) if name else None,
                       "family": normalise_name(name.family) if name else None,
                       "postcode": address.postcode if address is not None else None}
    return frequencies.count(views())
