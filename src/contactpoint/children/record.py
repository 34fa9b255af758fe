"""The child record: Schedule 1 of the 2007 Regulations, and nothing more.

Basic information only, never case information (Children Act 2004 s.12). Every value carries its
provenance: the source system it came from, the feed that brought it and the date it was received. The record
is stored as encrypted *field groups* (``FIELD_GROUPS``); the group name is bound into each ciphertext as
associated data, so groups cannot be swapped between children or between fields.

Group boundaries follow shielding: ``names`` and ``birth`` stay visible for a shielded child, ``carers`` is
shown with names only, and every other group could reveal whereabouts and is withheld.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from enum import StrEnum
from typing import Any, Generic, TypeVar

import orjson

T = TypeVar("T")


class Gender(StrEnum):
    MALE = "male"
    FEMALE = "female"
    NOT_SPECIFIED = "not specified"


class WhereaboutsState(StrEnum):
    CURRENT = "current"
    LAST_KNOWN = "last_known"
    NO_KNOWN_ADDRESS = "no_known_address"
    LEFT_ENGLAND = "left_england"


class SensitiveCategory(StrEnum):
    """Services the Regulations let us record only with consent or where significant harm is suspected."""

    SEXUAL_HEALTH = "sexual_health"
    MENTAL_HEALTH = "mental_health"
    SUBSTANCE_MISUSE = "substance_misuse"
    UNSPECIFIED = "unspecified"  # a feed said 'sensitive' without saying which


class SensitiveBasis(StrEnum):
    CONSENT = "consent"
    SIGNIFICANT_HARM = "significant_harm"


@dataclass(frozen=True, slots=True)
class Provenance:
    source: str  # source system code, e.g. "gp-registrations" or "practitioner:<org code>"
    feed: str  # feed run ID, or "manual" for a practitioner's own entry
    received: date


@dataclass(frozen=True, slots=True)
class Sourced(Generic[T]):
    value: T
    provenance: Provenance


@dataclass(frozen=True, slots=True)
class PersonName:
    given: str
    family: str
    middle: str = ""

    @property
    def display(self) -> str:
        return " ".join(p for p in (self.given, self.middle, self.family) if p)


@dataclass(frozen=True, slots=True)
class Address:
    line_1: str = ""
    line_2: str = ""
    town: str = ""
    postcode: str = ""


@dataclass(frozen=True, slots=True)
class Whereabouts:
    state: WhereaboutsState
    address: Address | None = None
    intends_to_return: bool | None = None  # only for LEFT_ENGLAND: "intends to return within 3 years"
    left_on: date | None = None


@dataclass(frozen=True, slots=True)
class Carer:
    name: str
    relationship: str = ""
    parental_responsibility: bool | None = None
    phone: str = ""
    email: str = ""


@dataclass(frozen=True, slots=True)
class EducationSetting:
    urn: str
    name: str
    start_date: date | None = None


@dataclass(frozen=True, slots=True)
class GPPractice:
    code: str
    name: str
    start_date: date | None = None


@dataclass(frozen=True, slots=True)
class Involvement:
    """A service or practitioner working with the child. ``key`` is stable across updates from the same
    source so that an involvement can be ended or corrected."""

    key: str
    service: str
    organisation: str = ""
    practitioner_name: str = ""
    practitioner_phone: str = ""
    practitioner_email: str = ""
    start_date: date | None = None
    end_date: date | None = None
    lead_professional: bool = False
    caf_completed: bool = False  # a Common Assessment exists and this practitioner holds it; never its content
    sensitive: SensitiveCategory | None = None
    sensitive_basis: SensitiveBasis | None = None
    basis_decided_by: str = ""

    def active_on(self, day: date) -> bool:
        return (self.start_date is None or self.start_date <= day) and (
            self.end_date is None or self.end_date >= day
        )


@dataclass(frozen=True, slots=True)
class SourceIdentifier:
    """The identifier a source body gave the child in its own system; readable only by that body's staff."""

    source: str
    identifier: str


@dataclass(frozen=True, slots=True)
class ChildRecord:
    cpid: str
    name: Sourced[PersonName]
    gender: Sourced[Gender]
    date_of_birth: Sourced[date]
    former_names: tuple[Sourced[PersonName], ...] = ()
    date_of_death: Sourced[date] | None = None
    nhs_number: Sourced[str] | None = None
    upn: Sourced[str] | None = None
    uln: Sourced[str] | None = None
    whereabouts: Sourced[Whereabouts] | None = None
    carers: tuple[Sourced[Carer], ...] = ()
    education: Sourced[EducationSetting] | None = None
    gp: Sourced[GPPractice] | None = None
    involvements: tuple[Sourced[Involvement], ...] = ()
    source_ids: tuple[SourceIdentifier, ...] = field(default=())
    # The postcodes the child's source records hold besides the best view's (an old address a source still has, a
    # postcode mistyped): for matching alone, which looks a new record up by its names at its postcode. Indexed
    # only in match-only indexes (``vault.tokens``), never shown, withheld with the whereabouts.
    other_postcodes: tuple[str, ...] = ()

    def with_changes(self, **changes: Any) -> ChildRecord:
        return replace(self, **changes)

    @property
    def postcode(self) -> str | None:
        if self.whereabouts and self.whereabouts.value.address and self.whereabouts.value.address.postcode:
            return self.whereabouts.value.address.postcode
        return None

    def last_updated(self) -> date:
        return max(p.received for p in _provenances(self))


def _provenances(record: ChildRecord) -> list[Provenance]:
    out = [record.name.provenance, record.gender.provenance, record.date_of_birth.provenance]
    for item in (record.date_of_death, record.nhs_number, record.upn, record.uln, record.whereabouts,
                 record.education, record.gp):
        if item is not None:
            out.append(item.provenance)
    out.extend(s.provenance for s in record.former_names)
    out.extend(s.provenance for s in record.carers)
    out.extend(s.provenance for s in record.involvements)
    return out


# --- serialisation of field groups ---------------------------------------------------------------------------
# Compact JSON with explicit, stable keys. Each group is encrypted on its own (see contactpoint.vault).

FIELD_GROUPS = ("names", "birth", "identifiers", "whereabouts", "carers", "education", "gp", "involvements",
                "source_ids")
VISIBLE_WHEN_SHIELDED = frozenset({"names", "birth", "carers"})  # carers: names only, see records.shielding


def _prov(p: Provenance) -> list[str]:
    return [p.source, p.feed, p.received.isoformat()]


def _unprov(raw: list[str]) -> Provenance:
    return Provenance(raw[0], raw[1], date.fromisoformat(raw[2]))


def _d(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _ud(raw: str | None) -> date | None:
    return date.fromisoformat(raw) if raw else None


def _name(n: PersonName) -> list[str]:
    return [n.given, n.middle, n.family]


def _unname(raw: list[str]) -> PersonName:
    return PersonName(given=raw[0], middle=raw[1], family=raw[2])


def _sourced(item: Sourced[Any] | None, encode) -> list[Any] | None:
    return None if item is None else [encode(item.value), _prov(item.provenance)]


def _unsourced(raw: list[Any] | None, decode) -> Sourced[Any] | None:
    return None if raw is None else Sourced(decode(raw[0]), _unprov(raw[1]))


def _address(a: Address | None) -> list[str] | None:
    return None if a is None else [a.line_1, a.line_2, a.town, a.postcode]


def _unaddress(raw: list[str] | None) -> Address | None:
    return None if raw is None else Address(*raw)


def _whereabouts(w: Whereabouts) -> dict[str, Any]:
    return {"s": w.state.value, "a": _address(w.address), "r": w.intends_to_return, "l": _d(w.left_on)}


def _unwhereabouts(raw: dict[str, Any]) -> Whereabouts:
    return Whereabouts(WhereaboutsState(raw["s"]), _unaddress(raw["a"]), raw["r"], _ud(raw["l"]))


def _carer(c: Carer) -> list[Any]:
    return [c.name, c.relationship, c.parental_responsibility, c.phone, c.email]


def _uncarer(raw: list[Any]) -> Carer:
    return Carer(*raw)


def _involvement(i: Involvement) -> dict[str, Any]:
    return {
        "k": i.key, "sv": i.service, "o": i.organisation, "pn": i.practitioner_name,
        "pp": i.practitioner_phone, "pe": i.practitioner_email, "sd": _d(i.start_date), "ed": _d(i.end_date),
        "lp": i.lead_professional, "caf": i.caf_completed,
        "sn": i.sensitive.value if i.sensitive else None,
        "sb": i.sensitive_basis.value if i.sensitive_basis else None, "bd": i.basis_decided_by,
    }


def _uninvolvement(raw: dict[str, Any]) -> Involvement:
    return Involvement(
        key=raw["k"], service=raw["sv"], organisation=raw["o"], practitioner_name=raw["pn"],
        practitioner_phone=raw["pp"], practitioner_email=raw["pe"], start_date=_ud(raw["sd"]),
        end_date=_ud(raw["ed"]), lead_professional=raw["lp"], caf_completed=raw["caf"],
        sensitive=SensitiveCategory(raw["sn"]) if raw["sn"] else None,
        sensitive_basis=SensitiveBasis(raw["sb"]) if raw["sb"] else None, basis_decided_by=raw["bd"],
    )


def _dumps(obj: Any) -> bytes:
    return orjson.dumps(obj)


def encode_groups(record: ChildRecord) -> dict[str, bytes]:
    """The record as one plaintext byte string per field group (to be encrypted by the vault)."""
    return {
        "names": _dumps({"n": _sourced(record.name, _name),
                         "f": [_sourced(f, _name) for f in record.former_names]}),
        "birth": _dumps({"g": _sourced(record.gender, lambda g: g.value),
                         "b": _sourced(record.date_of_birth, _d),
                         "d": _sourced(record.date_of_death, _d)}),
        "identifiers": _dumps({"nhs": _sourced(record.nhs_number, str), "upn": _sourced(record.upn, str),
                               "uln": _sourced(record.uln, str)}),
        # With other postcodes, an object; without (most children), as it always was.
        "whereabouts": _dumps({"w": _sourced(record.whereabouts, _whereabouts), "o": list(record.other_postcodes)}
                              if record.other_postcodes else _sourced(record.whereabouts, _whereabouts)),
        "carers": _dumps([_sourced(c, _carer) for c in record.carers]),
        "education": _dumps(_sourced(record.education, lambda e: [e.urn, e.name, _d(e.start_date)])),
        "gp": _dumps(_sourced(record.gp, lambda g: [g.code, g.name, _d(g.start_date)])),
        "involvements": _dumps([_sourced(i, _involvement) for i in record.involvements]),
        "source_ids": _dumps([[s.source, s.identifier] for s in record.source_ids]),
    }


def decode_groups(cpid: str, groups: dict[str, bytes]) -> dict[str, Any]:
    """Keyword arguments for ``ChildRecord`` from whichever groups were decrypted.

    Callers that must not see a group (shielding) simply do not decrypt it; the record built from a partial
    set is a ``PartialRecord`` (see ``contactpoint.children.store``)."""
    out: dict[str, Any] = {"cpid": cpid}
    if "names" in groups:
        raw = orjson.loads(groups["names"])
        out["name"] = _unsourced(raw["n"], _unname)
        out["former_names"] = tuple(_unsourced(f, _unname) for f in raw["f"])
    if "birth" in groups:
        raw = orjson.loads(groups["birth"])
        out["gender"] = _unsourced(raw["g"], Gender)
        out["date_of_birth"] = _unsourced(raw["b"], date.fromisoformat)
        out["date_of_death"] = _unsourced(raw["d"], date.fromisoformat)
    if "identifiers" in groups:
        raw = orjson.loads(groups["identifiers"])
        out["nhs_number"] = _unsourced(raw["nhs"], str)
        out["upn"] = _unsourced(raw["upn"], str)
        out["uln"] = _unsourced(raw["uln"], str)
    if "whereabouts" in groups:
        raw = orjson.loads(groups["whereabouts"])
        others = isinstance(raw, dict)  # a best view's whereabouts is a list (value, provenance) or null
        out["whereabouts"] = _unsourced(raw["w"] if others else raw, _unwhereabouts)
        out["other_postcodes"] = tuple(raw["o"]) if others else ()
    if "carers" in groups:
        out["carers"] = tuple(_unsourced(c, _uncarer) for c in orjson.loads(groups["carers"]))
    if "education" in groups:
        out["education"] = _unsourced(orjson.loads(groups["education"]),
                                      lambda e: EducationSetting(e[0], e[1], _ud(e[2])))
    if "gp" in groups:
        out["gp"] = _unsourced(orjson.loads(groups["gp"]), lambda g: GPPractice(g[0], g[1], _ud(g[2])))
    if "involvements" in groups:
        out["involvements"] = tuple(_unsourced(i, _uninvolvement) for i in orjson.loads(groups["involvements"]))
    if "source_ids" in groups:
        out["source_ids"] = tuple(SourceIdentifier(s, i) for s, i in orjson.loads(groups["source_ids"]))
    return out
