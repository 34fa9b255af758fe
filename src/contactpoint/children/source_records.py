"""The stored source record: what one source says about one child (``FeedRow``), as bytes sealed with its child's
data key and back (``seal_record``, ``open_record``, ``open_payload``); the keyed record key that says which stored
record a row updates; and the keyed content hash that makes re-sending an unchanged row a no-op without keeping
anything readable.

Validation (``contactpoint.feeds``) makes a ``FeedRow`` of a source's row; ingestion (``contactpoint.ingest``)
stores it here; matching, the best view and the discrepancy reports open it again.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

import orjson

from contactpoint.children.record import (
    Address,
    Carer,
    EducationSetting,
    Gender,
    GPPractice,
    Involvement,
    PersonName,
    SensitiveBasis,
    SensitiveCategory,
    WhereaboutsState,
)
from contactpoint.vault.cipher import ChildCipher
from contactpoint.vault.keyring import IndexKeyRing

if TYPE_CHECKING:  # helper processes import this module without Django, so no models at run time
    from contactpoint.children.models import SourceRecord


# The field of the item a source gets for a row whose bytes were not UTF-8 (``feeds.formats.raw.decoded``): the row
# was taken whole, read in another encoding, and the source is asked to check it and send UTF-8.
ENCODING = "encoding"


@dataclass(frozen=True, slots=True)
class FeedRow:
    """One accepted row: Schedule 1 values, checked and normalised, as one source knows the child.

    ``line`` is the row's position as the format counts it (see ``contactpoint.feeds.formats``).
    ``involvement.key`` is empty: the pipeline gives each involvement a key stable across updates.
    """

    line: int
    source_record_id: str
    name: PersonName
    former_family_names: tuple[str, ...] = ()
    gender: Gender | None = None
    date_of_birth: date | None = None
    date_of_death: date | None = None
    nhs_number: str | None = None
    upn: str | None = None
    uln: str | None = None
    address: Address | None = None
    whereabouts: WhereaboutsState | None = None
    carers: tuple[Carer, ...] = ()
    education: EducationSetting | None = None
    gp: GPPractice | None = None
    involvement: Involvement | None = None
    updated_at: date | None = None


def _d(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _ud(raw: str | None) -> date | None:
    return date.fromisoformat(raw) if raw else None


def involvement_to_json(i: Involvement | None) -> list[Any] | None:
    if i is None:
        return None
    return [i.key, i.service, i.organisation, i.practitioner_name, i.practitioner_phone, i.practitioner_email,
            _d(i.start_date), _d(i.end_date), i.lead_professional, i.caf_completed,
            i.sensitive.value if i.sensitive else None, i.sensitive_basis.value if i.sensitive_basis else None,
            i.basis_decided_by]


def involvement_from_json(raw: list[Any] | None) -> Involvement | None:
    if raw is None:
        return None
    return Involvement(raw[0], raw[1], raw[2], raw[3], raw[4], raw[5], _ud(raw[6]), _ud(raw[7]), raw[8], raw[9],
                       SensitiveCategory(raw[10]) if raw[10] else None,
                       SensitiveBasis(raw[11]) if raw[11] else None, raw[12])


def to_dict(row: FeedRow) -> dict[str, Any]:
    a, e, g = row.address, row.education, row.gp
    return {
        "id": row.source_record_id,
        "n": [row.name.given, row.name.middle, row.name.family],
        "f": list(row.former_family_names),
        "g": row.gender.value if row.gender else None,
        "b": _d(row.date_of_birth), "d": _d(row.date_of_death),
        "nhs": row.nhs_number, "upn": row.upn, "uln": row.uln,
        "a": [a.line_1, a.line_2, a.town, a.postcode] if a else None,
        "w": row.whereabouts.value if row.whereabouts else None,
        "c": [[c.name, c.relationship, c.parental_responsibility, c.phone, c.email] for c in row.carers],
        "e": [e.urn, e.name, _d(e.start_date)] if e else None,
        "gp": [g.code, g.name, _d(g.start_date)] if g else None,
        "i": involvement_to_json(row.involvement),
        "u": _d(row.updated_at),
    }


def dumps(row: FeedRow) -> bytes:
    return orjson.dumps(to_dict(row))


def loads(data: bytes, line: int = 0) -> FeedRow:
    raw = orjson.loads(data)
    return FeedRow(
        line=line, source_record_id=raw["id"],
        name=PersonName(given=raw["n"][0], middle=raw["n"][1], family=raw["n"][2]),
        former_family_names=tuple(raw["f"]), gender=Gender(raw["g"]) if raw["g"] else None,
        date_of_birth=_ud(raw["b"]), date_of_death=_ud(raw["d"]),
        nhs_number=raw["nhs"], upn=raw["upn"], uln=raw["uln"],
        address=Address(*raw["a"]) if raw["a"] else None,
        whereabouts=WhereaboutsState(raw["w"]) if raw["w"] else None,
        carers=tuple(Carer(*c) for c in raw["c"]),
        education=EducationSetting(raw["e"][0], raw["e"][1], _ud(raw["e"][2])) if raw["e"] else None,
        gp=GPPractice(raw["gp"][0], raw["gp"][1], _ud(raw["gp"][2])) if raw["gp"] else None,
        involvement=involvement_from_json(raw["i"]), updated_at=_ud(raw["u"]),
    )


def record_key(keyring: IndexKeyRing, source: str, source_record_id: str) -> str:
    """Which stored record a row updates: keyed, so the source's own ID is never in clear."""
    return hmac.new(keyring.index_key("source-record"), f"{source}|{source_record_id}".encode(),
                    hashlib.sha256).hexdigest()


def content_hash(keyring: IndexKeyRing, payload: bytes) -> str:
    """Of a row's payload (``dumps``): equal for two rows with the same content, whatever line they were on (the
    payload does not hold the line)."""
    return hmac.new(keyring.index_key("source-record-content"), payload, hashlib.sha256).hexdigest()


# A source record is stored sealed with its child's data key, bound to its record key.

def seal_record(cipher: ChildCipher, record_key: str, payload: bytes) -> bytes:
    return cipher.seal(f"source-record:{record_key}", payload)


def open_record(cipher: ChildCipher, record_key: str, sealed: bytes) -> bytes:
    """The payload (``loads`` makes it a row)."""
    return cipher.open(f"source-record:{record_key}", bytes(sealed))


def held_identity(source: str, record_key: str) -> str:
    """What a held row's data key and ciphertexts are bound to, as a child's are bound to its ContactPoint ID."""
    return f"held:{source}:{record_key}"


def open_payload(cipher: ChildCipher, record: SourceRecord) -> FeedRow:
    """A stored source record as the row it was sealed from."""
    return loads(open_record(cipher, record.record_key, bytes(record.payload)))
