"""A child's record sealed and indexed, ready to write: made without the database, so that a feed's helper
processes can make them (``contactpoint.ingest.processes``); written by ``contactpoint.children.store``.

Pure functions of the record, the child's data key and the blind indexes' keys: nothing here needs Django.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, NamedTuple

from contactpoint.children.record import FIELD_GROUPS, ChildRecord, encode_groups
from contactpoint.dates import compulsory_school_age_ends, compulsory_school_age_starts, live_review_month
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
        other_postcodes=record.other_postcodes,
    )


def review_month(record: ChildRecord) -> date:
    death = record.date_of_death.value if record.date_of_death else None
    return live_review_month(record.date_of_birth.value, date_of_death=death)


def education_gap(record: ChildRecord) -> tuple[date | None, date | None]:
    """The child's compulsory school age (first and last day) if the record holds no educational setting and no
    date of death; else (None, None). Kept in clear beside the record (``Child.education_missing_from`` and
    ``_until``) so that the children missing education list pages in SQL and opens only the children it shows.
    Both days are coarse by law: one of three prescribed days a year, and the last Friday in June, so they say
    no more about the date of birth than the review month beside them (the month of the 18th birthday)."""
    if record.education is not None or record.date_of_death is not None:
        return None, None
    born = record.date_of_birth.value
    return compulsory_school_age_starts(born), compulsory_school_age_ends(born)


class Sealed(NamedTuple):
    """A record sealed and indexed for one child, ready to be written (``store.create_sealed``,
    ``store.write_sealed``). A named tuple: feeds send them between processes by the hundred thousand."""

    groups: tuple[bytes, ...]  # in FIELD_GROUPS order
    review_month: date
    tokens: frozenset[int]  # empty for a record that is not indexed (archived, sealed)
    education_gap: tuple[date | None, date | None] = (None, None)  # see ``education_gap``


def seal(keyring: Any, cipher: ChildCipher, record: ChildRecord, *, shielded: bool, indexed: bool = True) -> Sealed:
    """``keyring`` need only hold the blind indexes' keys (``index_key``)."""
    plaintexts = encode_groups(record)
    return Sealed(tuple(cipher.seal(g, plaintexts[g]) for g in FIELD_GROUPS), review_month(record),
                  frozenset(tokens_for(keyring, record, shielded=shielded)) if indexed else frozenset(),
                  education_gap(record))


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
