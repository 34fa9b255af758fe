"""A child's record sealed and indexed, ready to write: made without the database, so that a feed's helper
processes can make them (``contactpoint.ingest.processes``); written by ``contactpoint.children.store``.

Pure functions of the record, the child's data key and the blind indexes' keys: nothing here needs Django.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, NamedTuple

from contactpoint.children.record import FIELD_GROUPS, ChildRecord, encode_groups
from contactpoint.dates import live_review_month
from contactpoint.vault.cipher import ChildCipher
from contactpoint.vault.tokens import record_tokens


def child_id(cpid: str) -> int:
    return int(cpid[:-1])


def tokens_for(keyring: Any, record: ChildRecord, *, shielded: bool) -> set[int]:
    """``keyring`` need only hold the blind indexes' keys (``index_key``)."""
    return record_tokens(
        keyring,
        given=record.name.value.given,
        family_names=[record.name.value.family, *(f.value.family for f in record.former_names)],
        date_of_birth=record.date_of_birth.value,
        postcode=record.postcode,
        nhs_number=record.nhs_number.value if record.nhs_number else None,
        upn=record.upn.value if record.upn else None,
        uln=record.uln.value if record.uln else None,
        shielded=shielded,
    )


def review_month(record: ChildRecord) -> date:
    death = record.date_of_death.value if record.date_of_death else None
    return live_review_month(record.date_of_birth.value, date_of_death=death)


class Sealed(NamedTuple):
    """A record sealed and indexed for one child, ready to be written (``store.create_sealed``,
    ``store.write_sealed``). A named tuple: feeds send them between processes by the hundred thousand."""

    groups: tuple[bytes, ...]  # in FIELD_GROUPS order
    review_month: date
    tokens: frozenset[int]  # empty for a record that is not indexed (archived, sealed)


def seal(keyring: Any, cipher: ChildCipher, record: ChildRecord, *, shielded: bool, indexed: bool = True) -> Sealed:
    """``keyring`` need only hold the blind indexes' keys (``index_key``)."""
    plaintexts = encode_groups(record)
    return Sealed(tuple(cipher.seal(g, plaintexts[g]) for g in FIELD_GROUPS), review_month(record),
                  frozenset(tokens_for(keyring, record, shielded=shielded)) if indexed else frozenset())


@dataclass(frozen=True, slots=True)
class Identity:
    """A new child's ContactPoint ID and data key: the key in clear (to seal with) and wrapped (to store)."""

    cpid: str
    data_key: bytes = field(repr=False)
    kek_id: str
    wrapped: bytes

    @property
    def id(self) -> int:
        return child_id(self.cpid)
