"""Building a child's best view from every record held about them (the rules are in ``rules``)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any, overload

from contactpoint.bestview.rules import DISCREPANCY_FIELDS, Claim, latest, vote, weight
from contactpoint.children.record import (
    Address,
    Carer,
    ChildRecord,
    EducationSetting,
    Gender,
    Involvement,
    PersonName,
    Provenance,
    Sourced,
    SourceIdentifier,
    Whereabouts,
    WhereaboutsState,
)
from contactpoint.names import forename_roots, forenames, name_parts, normalise_name


@dataclass(frozen=True)
class Held:
    """One source record as the best view sees it: the validated feed row and where it came from."""

    source: str
    source_kind: str
    feed_run: str
    received: date
    record_key: str
    row: Any  # contactpoint.feeds.rows.FeedRow

    @property
    def provenance(self) -> Provenance:
        return Provenance(self.source, self.feed_run, self.received)

    @property
    def recency(self) -> date:
        return self.row.updated_at or self.received


@dataclass(frozen=True)
class Manual:
    """An involvement a practitioner recorded themselves."""

    involvement: Involvement
    organisation: str
    recorded: date


# What a local authority may correct or complete (issue 19), as the record's values: the name in its parts, the
# address in its lines; each amendment replaces the whole value and carries its own provenance.
AMENDABLE = ("name", "date_of_birth", "gender", "address", "nhs_number", "upn", "uln", "carers", "education", "gp")
AMENDMENT_SOURCE = "la:"  # the provenance ``source`` of an amendment: "la:<local authority code>"
AMENDMENT_FEED = "amendment:"  # its provenance ``feed``: "amendment:<who made it>"


@dataclass(frozen=True)
class Amendment:
    """A local authority's correction or completion of one value of a child it is responsible for (seed: "the
    authority must also take reasonable steps to correct the inaccuracy or to complete the record"). It wins over
    every source until one of them sends a newer value that agrees with it: then it has served its purpose and is
    retired (``BestView.retired``). ``value`` is a ``PersonName``, ``date``, ``Gender``, ``Address``, ``str`` (an
    identifier), a tuple of ``Carer``, an ``EducationSetting`` or a ``GPPractice``."""

    key: str
    field: str  # one of AMENDABLE
    value: Any
    la: str
    by: str  # the data manager's username
    made: date  # when it took effect (for an identifier, when a second data manager approved it)

    @property
    def provenance(self) -> Provenance:
        return Provenance(f"{AMENDMENT_SOURCE}{self.la}", f"{AMENDMENT_FEED}{self.by}", self.made)


@dataclass(frozen=True)
class BestView:
    record: ChildRecord
    discrepancies: frozenset[tuple[str, str]]  # (record_key, field)
    retired: frozenset[str] = frozenset()  # keys of the amendments a newer agreeing source value has retired


def _claims(held: Sequence[Held], get) -> list[Claim]:
    return [Claim(v, h.source_kind, h.recency, h) for h in held for v in [get(h.row)] if v is not None]


@overload
def _sourced(claim: Claim) -> Sourced: ...


@overload
def _sourced(claim: Claim | None) -> Sourced | None: ...


def _sourced(claim: Claim | None) -> Sourced | None:
    return None if claim is None else Sourced(claim.value, claim.origin.provenance)


def _name_key(name: PersonName) -> tuple[str, str]:
    """A name as the vote counts it: the first given name and the family name. Forenames written in one field
    ("Amara Grace") vote with the sources that send the middle name apart ("Amara"): counted apart, they split
    the child's name's votes, and a typo of another source could win."""
    several = forenames(name.given)
    return several[0] if several else normalise_name(name.given), normalise_name(name.family)


def involvement_key(source: str, record_key: str) -> str:
    return hashlib.sha256(f"{source}|{record_key}".encode()).hexdigest()[:24]


def _carers(held: Sequence[Held]) -> tuple[Sourced[Carer], ...]:
    """Every parent or carer any source knows, once each (by name). The most trusted source's details come first;
    a detail only another source has (a phone number, say) fills the gap."""
    by_name: dict[str, list[Claim[Carer]]] = {}
    for h in held:
        for carer in h.row.carers:
            by_name.setdefault(normalise_name(carer.name), []).append(
                Claim(carer, h.source_kind, h.recency, h))
    out = []
    for claims in by_name.values():
        ranked = sorted(claims, key=lambda c: (weight("carers", c.source_kind), c.recency), reverse=True)
        base = ranked[0].value

        def first(attr: str, default: Any, ranked: list[Claim] = ranked) -> Any:
            return next((getattr(c.value, attr) for c in ranked if getattr(c.value, attr) not in ("", None)),
                        default)

        merged = Carer(base.name, first("relationship", ""), first("parental_responsibility", None),
                       first("phone", ""), first("email", ""))
        out.append(Sourced(merged, ranked[0].origin.provenance))
    return tuple(sorted(out, key=lambda s: s.value.name))


def build(held: Sequence[Held], manual: Sequence[Manual] = (), *, cpid: str = "",
          amendments: Sequence[Amendment] = ()) -> BestView:
    """The best view of one child. ``held`` must not be empty (a child exists because a source holds them)."""
    active = list(held)
    name = vote("name", _claims(active, lambda r: r.name if r.name.family or r.name.given else None), _name_key)
    if name is None:
        raise ValueError("a child needs at least one named record")
    dob = vote("date_of_birth", _claims(active, lambda r: r.date_of_birth))
    genders = _claims(active, lambda r: r.gender if r.gender and r.gender != Gender.NOT_SPECIFIED else None)
    gender = vote("gender", genders) or Claim(Gender.NOT_SPECIFIED, name.source_kind, name.recency, name.origin)
    nhs = vote("nhs_number", _claims(active, lambda r: r.nhs_number))
    upn = vote("upn", _claims(active, lambda r: r.upn))
    uln = vote("uln", _claims(active, lambda r: r.uln))
    death = vote("date_of_death", _claims(active, lambda r: r.date_of_death))

    chosen_family = normalise_name(name.value.family)
    former: dict[str, Sourced[PersonName]] = {}
    for h in active:
        for family in (*h.row.former_family_names, h.row.name.family):
            key = normalise_name(family)
            if key and key != chosen_family and key not in former:
                former[key] = Sourced(PersonName(name.value.given, family), h.provenance)

    where = latest("address", _claims(active, lambda r: Whereabouts(r.whereabouts or WhereaboutsState.CURRENT,
                                                                    r.address)
                                        if r.address is not None or r.whereabouts is not None else None))
    education = latest("education", _claims(active, lambda r: r.education))
    gp = latest("gp", _claims(active, lambda r: r.gp))
    involvements = [Sourced(_keyed(h), h.provenance) for h in active if h.row.involvement is not None]
    involvements += [Sourced(m.involvement, Provenance(f"practitioner:{m.organisation}", "manual", m.recorded))
                     for m in manual]
    record = ChildRecord(
        # dob: feeds.validate refuses a row without a date of birth, so a held record has one (not asserted here).
        cpid=cpid, name=_sourced(name), gender=_sourced(gender), date_of_birth=_sourced(dob),  # type: ignore[arg-type]
        former_names=tuple(former.values()), date_of_death=_sourced(death), nhs_number=_sourced(nhs),
        upn=_sourced(upn), uln=_sourced(uln), whereabouts=_sourced(where), carers=_carers(active),
        education=_sourced(education), gp=_sourced(gp), involvements=tuple(involvements),
        source_ids=tuple(SourceIdentifier(h.source, h.row.source_record_id) for h in active),
    )
    record, applied, retired = amend(record, active, amendments)
    record = replace(record, other_postcodes=_other_postcodes(active, record.postcode))
    return BestView(record, _discrepancies(active, record) | _amended(active, applied), retired)


def _other_postcodes(active: Sequence[Held], best: str | None) -> tuple[str, ...]:
    """The postcodes of the child's records other than the best view's, for matching to look a new record up by
    (a source that still has the old address, a postcode mistyped by one source): without them a record with no
    date of birth at the school's address was held, the child being indexed at the GP's."""
    return tuple(sorted({h.row.address.postcode for h in active
                         if h.row.address is not None and h.row.address.postcode} - {best}))


def _full_name(name: PersonName) -> tuple[str, str, str]:
    return normalise_name(name.given), normalise_name(name.middle), normalise_name(name.family)


def _address_key(address: Address) -> tuple[str, str]:
    return address.postcode.replace(" ", "").upper(), " ".join(address.line_1.lower().split())


def _carer_key(carer: Carer) -> tuple[str, str, bool | None, str]:
    return (normalise_name(carer.name), carer.relationship.lower(), carer.parental_responsibility,
            "".join(ch for ch in carer.phone if ch.isdigit()))


def _carers_agree(value: Sequence[Carer], theirs: Sequence[Carer]) -> bool:
    """The source holds the same parents and carers, with every detail the authority gave (a row without the
    phone number the authority completed does not agree)."""
    held = {normalise_name(c.name): _carer_key(c) for c in theirs}
    if set(held) != {normalise_name(c.name) for c in value}:
        return False
    return all(all(mine in ("", None) or mine == held[normalise_name(c.name)][i]
                   for i, mine in enumerate(_carer_key(c))) for c in value)


def _place_agrees(value: Any, theirs: Any) -> bool:
    """The same setting (by URN) or practice (by ODS code), and the start date if the authority gave one; names
    are written differently by different sources, so they are not compared."""
    if theirs is None:
        return False
    code = (lambda p: p.urn) if isinstance(value, EducationSetting) else (lambda p: p.code)
    return code(theirs) == code(value) and (value.start_date is None or theirs.start_date == value.start_date)


# Whether a source's row agrees with an amended value: exactly, parts and all (a row without the middle name the
# authority completed does not agree; retiring on it would lose the middle name).
_AGREES: dict[str, Any] = {
    "name": lambda value, row: _full_name(row.name) == _full_name(value),
    "date_of_birth": lambda value, row: row.date_of_birth == value,
    "gender": lambda value, row: row.gender == value,
    "nhs_number": lambda value, row: row.nhs_number == value,
    "upn": lambda value, row: row.upn == value,
    "uln": lambda value, row: row.uln == value,
    "carers": lambda value, row: _carers_agree(value, row.carers),
    "education": lambda value, row: _place_agrees(value, row.education),
    "gp": lambda value, row: _place_agrees(value, row.gp),
    "address": lambda value, row: row.address is not None and _address_key(row.address) == _address_key(value),
}
_ATTRIBUTE = {"address": "whereabouts"}


def amend(record: ChildRecord, held: Sequence[Held], amendments: Sequence[Amendment]
           ) -> tuple[ChildRecord, list[Amendment], frozenset[str]]:
    """The record with each amendment in force, unless a source has since sent a value that agrees with it (more
    recent than the amendment: an older agreeing value is what the authority chose over the others)."""
    changes: dict[str, Any] = {}
    applied, retired = [], set()
    for a in amendments:
        if any(h.recency > a.made and _AGREES[a.field](a.value, h.row) for h in held):
            retired.add(a.key)
            continue
        value = Whereabouts(WhereaboutsState.CURRENT, a.value) if a.field == "address" else a.value
        if a.field == "carers":
            changes["carers"] = tuple(Sourced(c, a.provenance) for c in a.value)
            applied.append(a)
            continue
        changes[_ATTRIBUTE.get(a.field, a.field)] = Sourced(value, a.provenance)
        applied.append(a)
    return (record.with_changes(**changes) if changes else record), applied, frozenset(retired)


# The values a source is asked to check only when an authority has amended them: a source's UPN, ULN, carers,
# setting or practice is otherwise not compared with the others' (see ``rules.DISCREPANCY_FIELDS``: settings and
# practices change over time, and sources know different carers). What a row holds for each (None: nothing).
_HOLDS: dict[str, Any] = {"upn": lambda row: row.upn, "uln": lambda row: row.uln,
                          "carers": lambda row: row.carers or None, "education": lambda row: row.education,
                          "gp": lambda row: row.gp}


def _amended(held: Sequence[Held], applied: Sequence[Amendment]) -> frozenset[tuple[str, str]]:
    """A source that holds a value disagreeing with one the authority amended is asked to check it."""
    return frozenset((h.record_key, a.field) for a in applied if a.field in _HOLDS for h in held
                     if _HOLDS[a.field](h.row) is not None and not _AGREES[a.field](a.value, h.row))


def _keyed(h: Held) -> Involvement:
    return replace(h.row.involvement, key=involvement_key(h.source, h.record_key))


def _discrepancies(held: Sequence[Held], record: ChildRecord) -> frozenset[tuple[str, str]]:
    chosen = {
        "date_of_birth": record.date_of_birth.value if record.date_of_birth else None,
        "name": _name_key(record.name.value),
        "nhs_number": record.nhs_number.value if record.nhs_number else None,
        "gender": record.gender.value if record.gender.value != Gender.NOT_SPECIFIED else None,
    }
    # Family names a source says the child had (not every source's current one, which build keeps as "former").
    declared_former = tuple({f for h in held for f in h.row.former_family_names})
    found = set()
    for h in held:
        theirs = {
            "date_of_birth": h.row.date_of_birth,
            # A name with a part missing was flagged as missing already: only a full name can disagree.
            "name": _name_key(h.row.name) if h.row.name.given and h.row.name.family else None,
            "nhs_number": h.row.nhs_number,
            "gender": h.row.gender if h.row.gender != Gender.NOT_SPECIFIED else None,
        }
        for field in DISCREPANCY_FIELDS:
            if theirs[field] is None or chosen[field] is None or theirs[field] == chosen[field]:
                continue
            if field == "name" and same_name(h.row.name, record.name.value, declared_former):
                continue
            found.add((h.record_key, field))
    return frozenset(found)


def same_name(theirs: PersonName, chosen: PersonName, former: Sequence[str] = ()) -> bool:
    """Whether a source's name for a child is the chosen one as people write it: a given name through its
    nicknames and variants (Evie and Evelyn, Bill and William), a family name through its parts (Smith-Jones
    and Smith) or a former family name the child is known to have had, and forenames written in one field ("Amelia
    Rose" for Amelia). Such a name is no discrepancy."""
    given_a, given_b = normalise_name(theirs.given), normalise_name(chosen.given)
    if given_a != given_b and forename_roots(theirs.given).isdisjoint(forename_roots(chosen.given)):
        return False
    families = set(name_parts(chosen.family))
    for f in former:
        families.update(name_parts(f))
    return not families.isdisjoint(name_parts(theirs.family))
