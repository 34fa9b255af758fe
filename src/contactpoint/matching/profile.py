"""A source record as the match model sees it: normalised, with the derived columns its comparisons use
(phonetic codes, nickname roots, name parts, day/month-swapped date, postcode sector and district, carers).

Built in Python with the same functions search uses (``contactpoint.names``), so a nickname or a
former surname means the same thing to the feeds as to a practitioner's search. Profiles exist only in memory
(and in the in-memory DuckDB of one matching run): never on disk.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from datetime import date
from typing import Any, Protocol, cast

import pyarrow as pa

from contactpoint.children.record import Address, Carer, PersonName
from contactpoint.names import forename_roots, forenames, name_parts, normalise_name, phonetic

_HOUSE = re.compile(r"\d+[A-Z]?")
_UNIT = re.compile(r"\b(?:FLAT|APARTMENT|APT|UNIT|ROOM|STUDIO|MAISONETTE)\b")
# A street's kind as sources write it, in full or abbreviated ("Fellows Road", "Fellows Rd."), made one word, so
# that a home is one home whichever a source writes. Royal Mail's abbreviations; "Saint" becomes "St" as well,
# since "St" stands for both and "St John's Rd" is written both ways.
_STREET_WORDS = {
    "ROAD": "RD", "STREET": "ST", "SAINT": "ST", "AVENUE": "AVE", "AV": "AVE", "CLOSE": "CL", "CRESCENT": "CRES",
    "CRESC": "CRES", "DRIVE": "DR", "GARDENS": "GDNS", "GROVE": "GR", "LANE": "LN", "PLACE": "PL", "SQUARE": "SQ",
    "TERRACE": "TER", "TERR": "TER", "COURT": "CT", "PARK": "PK", "PARADE": "PDE", "MOUNT": "MT",
    "BROADWAY": "BWAY", "HIGHWAY": "HWY", "WALK": "WLK", "GATE": "GT", "ESTATE": "EST",
}
_STREET_WORD = re.compile(r"\b(?:" + "|".join(sorted(_STREET_WORDS, key=len, reverse=True)) + r")\b")
# The same at the end of the street with its spaces gone: a space lost or moved ("Fellows Ro ad", "Carter
# crescent" written "cartercrescent") leaves no word to find, and FEBRL4's duplicates carry it in one pair in
# sixteen (300 of its 5,000 pairs would otherwise no longer agree on their home).
# Longest first, so that the longest word the street ends with is the one made short; ``str.endswith`` on a tuple
# answers the usual "no" several times faster than a regular expression anchored at the end.
_STREET_ENDINGS = tuple(w for w in sorted(_STREET_WORDS, key=len, reverse=True)
                        if w not in {"SAINT", "AV", "TERR", "CRESC"})


# A carer's title, which some sources write and others do not ("Mrs Sarah Hartley", "Sarah Hartley"): a carer in
# common is one family only if the names agree without it.
_TITLE = re.compile(r"^\s*(?:MRS|MR|MS|MISS|MX|DR|REV|REVD|SIR|DAME|LADY|LORD)\b\.?\s*", re.IGNORECASE)
# What sources write for a home they do not know or may not give: no one's home, so no key (every child "of no
# fixed abode", or whose address is withheld, would otherwise share one).
_NO_HOME_LINES = frozenset({
    "NOFIXEDABODE", "NFA", "UNKNOWN", "NOTKNOWN", "ADDRESSUNKNOWN", "ADDRESSNOTKNOWN", "NK", "NONE", "HOMELESS",
    "TBC", "CONFIDENTIAL", "ADDRESSCONFIDENTIAL", "WITHHELD", "ADDRESSWITHHELD", "NOTGIVEN", "NOTSTATED",
})


class Matchable(Protocol):
    """What profiling reads of a record (a feed's ``FeedRow``, frozen): read-only, hence properties."""

    @property
    def name(self) -> PersonName: ...
    @property
    def former_family_names(self) -> tuple[str, ...]: ...
    @property
    def gender(self) -> Any: ...
    @property
    def date_of_birth(self) -> date | None: ...
    @property
    def nhs_number(self) -> str | None: ...
    @property
    def upn(self) -> str | None: ...
    @property
    def uln(self) -> str | None: ...
    @property
    def address(self) -> Address | None: ...
    @property
    def carers(self) -> tuple[Carer, ...]: ...


COLUMNS = (
    "unique_id", "source_kind", "given", "given_first", "given_roots", "given_metaphone", "middle", "family",
    "family_metaphone",
    "families", "dob", "dob_swapped", "birth_year", "gender", "nhs_number", "upn", "uln", "postcode",
    "postcode_sector", "postcode_district", "address_key", "carer_names",
)

LIST_COLUMNS = frozenset({"given_roots", "families", "carer_names"})
SCHEMA = pa.schema([(c, pa.list_(pa.string()) if c in LIST_COLUMNS else
                     pa.int64() if c == "birth_year" else pa.string()) for c in COLUMNS])


def arrow_table(profiles: Sequence[Mapping[str, Any] | tuple]) -> pa.Table:
    """The profiles (dicts, or rows in ``COLUMNS`` order) as an Arrow table (``SCHEMA``), built column by column:
    ``Table.from_pylist`` converts row by row and took a third of a batch's matching time at a million records."""
    columns: Sequence[Sequence[Any]]
    if profiles and isinstance(profiles[0], tuple):
        columns = list(zip(*profiles, strict=True))
    elif profiles:
        dicts = cast("Sequence[Mapping[str, Any]]", profiles)  # all dicts when the first is
        columns = [[p[c] for p in dicts] for c in COLUMNS]
    else:
        columns = [[] for _ in COLUMNS]
    return pa.Table.from_arrays([pa.array(values, type=SCHEMA.field(c).type) for c, values in zip(
        COLUMNS, columns, strict=True)], schema=SCHEMA)


def _swapped(dob: date) -> str | None:
    if dob.day > 12 or dob.day == dob.month:
        return None
    try:
        return dob.replace(day=dob.month, month=dob.day).isoformat()
    except ValueError:
        return None


def _street(line: str) -> str:
    street = normalise_name(_STREET_WORD.sub(_short_word, _UNIT.sub("", _HOUSE.sub("", line))))
    if street.endswith(_STREET_ENDINGS):
        word = next(w for w in _STREET_ENDINGS if street.endswith(w))
        return street[:-len(word)] + _STREET_WORDS[word]
    return street


def _short_word(word: re.Match[str]) -> str:
    return _STREET_WORDS[word[0]]


def _address_key(address: Address | None) -> str | None:
    """The home's numbers and the start of its street, to know one home with its postcode mistyped or left out.
    A flat's first line ("Flat 36") names no street: the second line's is taken with it, as a feed that writes
    "Flat 36, 22 Fellows Road" on one line has it. Keyed on "Flat 36" alone, every flat 36 in England was one home
    (at 3 million records, a third of the pairs the model was unsure of were two children with the same name and
    birthday in two such flats). A first line with no street and no second line gives no key. A street's kind is
    written one way (``_STREET_WORDS``): "22 Fellows Road" and "22 Fellows Rd" are one home. "No fixed abode",
    "Address withheld" and the like give no key (``_NO_HOME_LINES``)."""
    if address is None or not address.line_1:
        return None
    # The parts of the address up to the first that names a street: a source that writes the whole address on one
    # line ("12 Agar Grove, London, NW1 8NP") has the same home as one that writes the street alone.
    parts = address.line_1.upper().split(",")
    if address.line_2:
        parts += address.line_2.upper().split(",")
    taken = []
    for part in parts:
        taken.append(part)
        if street := _street(part):
            if street in _NO_HOME_LINES:
                return None
            return f"{'/'.join(_HOUSE.findall(' '.join(taken)))}|{street[:12]}"
    return None


def _middle(name: PersonName) -> str | None:
    """The first middle name; for a source that writes all the forenames in one field ("Amelia Rose"), the second
    of them."""
    if middle := name.middle.split():
        return normalise_name(middle[0]) or None
    several = forenames(name.given)
    return several[1] if several else None


def _first_forename(given: str) -> str | None:
    """The first of the forenames a given-name field holds, when it holds several (``forenames``): what a record
    with the names swapped has as its given name's first word ("Okafor Rose" for Amelia Rose Okafor, sent by a
    system with one field for all the forenames)."""
    several = forenames(given)
    return several[0] if several else None


def profile(unique_id: str, source_kind: str, row: Matchable) -> dict[str, Any]:
    # The whole given name, even when it holds several forenames: the model compares it whole ("Simpson Gill",
    # a family name written as the given name, is only seen swapped so). The first forename is among its roots,
    # and is ``given_first``, which the levels for a swap or a slip compare as well as the whole, and whose sound is
    # ``given_metaphone``.
    given = normalise_name(row.name.given)
    first = _first_forename(row.name.given) or given
    family = normalise_name(row.name.family)
    families = sorted({*name_parts(row.name.family),
                       *(p for f in row.former_family_names for p in name_parts(f))})
    postcode = row.address.postcode if row.address and row.address.postcode else None
    dob = row.date_of_birth
    carers = [normalise_name(_TITLE.sub("", c.name)) for c in row.carers if c.name]
    return {
        "unique_id": unique_id,
        "source_kind": source_kind,
        "given": given or None,
        "given_first": first or None,
        "given_roots": sorted(forename_roots(row.name.given)) if given else None,
        # The first forename's sound, as the blind index's given-name tokens are: the blocking rules pair records
        # by it, so a school's "Logan Leon" is compared with the GP's Logan after a move, which it found.
        "given_metaphone": phonetic(first) or None,
        "middle": _middle(row.name),
        "family": family or None,
        "family_metaphone": phonetic(family) or None,
        "families": families or None,
        "dob": dob.isoformat() if dob else None,
        "dob_swapped": _swapped(dob) if dob else None,
        "birth_year": dob.year if dob else None,
        "gender": str(row.gender.value if hasattr(row.gender, "value") else row.gender) if row.gender else None,
        "nhs_number": row.nhs_number,
        "upn": row.upn,
        "uln": row.uln,
        "postcode": postcode,
        "postcode_sector": postcode[:-2] if postcode else None,
        "postcode_district": postcode.split(" ")[0] if postcode else None,
        "address_key": _address_key(row.address),
        "carer_names": carers or None,
    }


def profile_row(unique_id: str, source_kind: str, row: Matchable) -> tuple:
    """``profile`` as a tuple in ``COLUMNS`` order: what feeds keep and send between processes (see
    ``Profiles``)."""
    found = profile(unique_id, source_kind, row)
    return tuple(found[c] for c in COLUMNS)


class Profiles(Mapping[str, dict[str, Any]]):
    """Profile rows (``profile_row``) by record, each made a dict when first asked for: a batch scores tens of
    thousands, and the decisions look at a few of them."""

    def __init__(self, rows: dict[str, tuple]) -> None:
        self.rows = rows
        self._dicts: dict[str, dict[str, Any]] = {}

    def __getitem__(self, uid: str) -> dict[str, Any]:
        found = self._dicts.get(uid)
        if found is None:
            found = self._dicts[uid] = dict(zip(COLUMNS, self.rows[uid], strict=True))
        return found

    def __iter__(self) -> Iterator[str]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)
