"""Real postcodes for each local authority, and the address lines that go with them.

Postcodes come from ``uk_postcodes_parsing``, which ships every real postcode of the ONS Postcode Directory
as one module per outward code (``outcodes/nw1.py`` holds ``INCODES``). Only those modules are read: the
package's database functions download a file, and the generator never touches the network.

A dozen local authorities have hand-written outward codes and post towns; any other LA gets a deterministic
choice (by its code, never by the run's seed) of outward codes from a postcode area in its region, so the same
LA always lives in the same place.
"""

from __future__ import annotations

import hashlib
import importlib
import random
import re
import zlib
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

from contactpoint.reference import local_authority
from contactpoint.synthetic.rand import between, pick

# LA code -> (outward code, post town). Hand-picked residential districts of each authority.
_LONDON = "London"
LA_DISTRICTS: dict[str, tuple[tuple[str, str], ...]] = {
    "201": tuple((oc, _LONDON) for oc in ("EC2Y", "EC1Y", "EC4V", "EC3N")),
    "202": tuple((oc, _LONDON) for oc in ("NW1", "NW3", "NW5", "NW6", "WC1H", "WC1N", "WC1X", "N6")),
    "203": tuple((oc, _LONDON) for oc in ("SE3", "SE7", "SE9", "SE10", "SE18", "SE28")),
    "204": tuple((oc, _LONDON) for oc in ("E2", "E5", "E8", "E9", "N1", "N16")),
    "206": tuple((oc, _LONDON) for oc in ("N1", "N4", "N5", "N7", "N19", "EC1V")),
    "208": tuple((oc, _LONDON) for oc in ("SE11", "SE24", "SE27", "SW2", "SW4", "SW8", "SW9", "SW16")),
    "210": tuple((oc, _LONDON) for oc in ("SE1", "SE5", "SE15", "SE16", "SE17", "SE22")),
    "211": tuple((oc, _LONDON) for oc in ("E1", "E1W", "E2", "E3", "E14")),
    "213": tuple((oc, _LONDON) for oc in ("W1H", "W1U", "W2", "W9", "NW8", "SW1V")),
    "330": tuple((oc, "Birmingham") for oc in ("B5", "B6", "B8", "B9", "B10", "B11", "B12", "B13", "B23")),
    "341": tuple((oc, "Liverpool") for oc in ("L4", "L5", "L6", "L7", "L8", "L11", "L13", "L15", "L18")),
    "352": tuple((oc, "Manchester") for oc in ("M8", "M9", "M11", "M12", "M13", "M14", "M16", "M19", "M20")),
    "383": tuple((oc, "Leeds") for oc in ("LS6", "LS7", "LS8", "LS9", "LS11", "LS12", "LS13", "LS14")),
    "801": tuple((oc, "Bristol") for oc in ("BS2", "BS3", "BS4", "BS5", "BS6", "BS7", "BS13", "BS14")),
    "886": (("CT1", "Canterbury"), ("CT9", "Margate"), ("CT11", "Ramsgate"), ("ME5", "Chatham"),
            ("ME15", "Maidstone"), ("TN23", "Ashford"), ("DA1", "Dartford"), ("DA11", "Gravesend")),
    "926": (("NR1", "Norwich"), ("NR2", "Norwich"), ("NR3", "Norwich"), ("NR5", "Norwich"),
            ("NR30", "Great Yarmouth"), ("NR31", "Great Yarmouth"), ("PE30", "King's Lynn")),
    "908": (("TR1", "Truro"), ("TR7", "Newquay"), ("TR11", "Falmouth"), ("TR14", "Camborne"),
            ("TR18", "Penzance"), ("PL25", "St Austell"), ("PL31", "Bodmin")),
    "420": (("TR21", "Isles of Scilly"),),
}

# Region (as in reference/local_authorities.csv) -> postcode areas in England, each with its main post town.
REGION_AREAS: dict[str, tuple[tuple[str, str], ...]] = {
    "London": (("E", _LONDON), ("N", _LONDON), ("SE", _LONDON), ("SW", _LONDON), ("NW", _LONDON),
               ("HA", "Harrow"), ("IG", "Ilford"), ("RM", "Romford"), ("CR", "Croydon"), ("BR", "Bromley"),
               ("EN", "Enfield"), ("TW", "Twickenham"), ("UB", "Southall"), ("KT", "Kingston upon Thames")),
    "North West": (("M", "Manchester"), ("L", "Liverpool"), ("BL", "Bolton"), ("OL", "Oldham"),
                   ("WN", "Wigan"), ("WA", "Warrington"), ("PR", "Preston"), ("BB", "Blackburn"),
                   ("FY", "Blackpool"), ("CA", "Carlisle"), ("CW", "Crewe"), ("SK", "Stockport")),
    "North East": (("NE", "Newcastle upon Tyne"), ("SR", "Sunderland"), ("DH", "Durham"),
                   ("DL", "Darlington"), ("TS", "Middlesbrough")),
    "Yorkshire and the Humber": (("LS", "Leeds"), ("BD", "Bradford"), ("S", "Sheffield"),
                                 ("HD", "Huddersfield"), ("HX", "Halifax"), ("WF", "Wakefield"),
                                 ("DN", "Doncaster"), ("HU", "Hull"), ("YO", "York")),
    "East Midlands": (("NG", "Nottingham"), ("DE", "Derby"), ("LE", "Leicester"), ("LN", "Lincoln"),
                      ("NN", "Northampton")),
    "West Midlands": (("B", "Birmingham"), ("CV", "Coventry"), ("WV", "Wolverhampton"), ("WS", "Walsall"),
                      ("DY", "Dudley"), ("ST", "Stoke-on-Trent"), ("TF", "Telford"), ("WR", "Worcester"),
                      ("HR", "Hereford")),
    "East of England": (("CB", "Cambridge"), ("IP", "Ipswich"), ("NR", "Norwich"), ("CO", "Colchester"),
                        ("CM", "Chelmsford"), ("SS", "Southend-on-Sea"), ("LU", "Luton"),
                        ("PE", "Peterborough"), ("SG", "Stevenage"), ("AL", "St Albans")),
    "South East": (("RG", "Reading"), ("OX", "Oxford"), ("SO", "Southampton"), ("PO", "Portsmouth"),
                   ("BN", "Brighton"), ("GU", "Guildford"), ("ME", "Maidstone"), ("CT", "Canterbury"),
                   ("MK", "Milton Keynes"), ("SL", "Slough"), ("HP", "High Wycombe")),
    "South West": (("BS", "Bristol"), ("BA", "Bath"), ("EX", "Exeter"), ("PL", "Plymouth"), ("TQ", "Torquay"),
                   ("TR", "Truro"), ("TA", "Taunton"), ("GL", "Gloucester"), ("SN", "Swindon"),
                   ("BH", "Bournemouth"), ("DT", "Dorchester")),
}

_FALLBACK_DISTRICTS = 6
# Outward codes with fewer postcodes than this are PO boxes and large users (BS98, NW26...), not where
# families live.
_MIN_RESIDENTIAL_POSTCODES = 200


@cache
def incodes(outcode: str) -> tuple[str, ...]:
    """The real inward codes of an outward code, sorted (the package stores a set, whose order is not stable
    across processes)."""
    module = importlib.import_module(f"uk_postcodes_parsing.outcodes.{outcode.lower()}")
    return tuple(sorted(module.INCODES))


@cache
def _all_outcodes() -> tuple[str, ...]:
    folder = files("uk_postcodes_parsing").joinpath("outcodes")
    names = (entry.name for entry in folder.iterdir())
    return tuple(sorted(n[:-3].upper() for n in names if n.endswith(".py") and not n.startswith("__")
                        and n != "index.py"))


def _area(outcode: str) -> str:
    """The postcode area: the leading letters ('SE' of 'SE10', 'S' of 'S10')."""
    letters = re.match(r"[A-Z]+", outcode)
    assert letters is not None  # every outcode starts with its area's letters
    return letters.group()


def _stable_hash(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


@cache
def districts(la_code: str) -> tuple[tuple[str, str], ...]:
    """The (outward code, post town) pairs where the LA's children live."""
    if la_code in LA_DISTRICTS:
        return LA_DISTRICTS[la_code]
    la = local_authority(la_code)
    areas = REGION_AREAS.get(la.region if la else "", REGION_AREAS["London"])
    h = _stable_hash(la_code)
    area, town = areas[h % len(areas)]
    candidates = [oc for oc in _all_outcodes()
                  if _area(oc) == area and len(incodes(oc)) >= _MIN_RESIDENTIAL_POSTCODES]
    start = (h >> 16) % len(candidates)
    count = min(_FALLBACK_DISTRICTS, len(candidates))
    picked = [candidates[(start + k) % len(candidates)] for k in range(count)]
    return tuple((oc, town) for oc in sorted(set(picked)))


@dataclass(frozen=True, slots=True)
class Address:
    line_1: str
    line_2: str
    town: str
    postcode: str
    la_code: str


class AddressMaker:
    """Addresses in one LA: a real postcode, a street that belongs to that postcode, a house number."""

    def __init__(self, la_code: str, streets: tuple[str, ...]) -> None:
        self.la_code = la_code
        self._districts = tuple((oc, town, incodes(oc)) for oc, town in districts(la_code))
        self._streets = streets

    def postcode(self, rng: random.Random) -> tuple[str, str]:
        outcode, town, inward = pick(rng, self._districts)
        return f"{outcode} {pick(rng, inward)}", town

    def address(self, rng: random.Random) -> Address:
        postcode, town = self.postcode(rng)
        # A postcode covers a handful of addresses on one street: derive the street from the postcode (crc32,
        # not hash(), which changes between processes) so that neighbours agree on their street's name.
        street = self._streets[zlib.crc32(postcode.encode()) % len(self._streets)]
        number = between(rng, 1, 180)
        if rng.random() < 0.25:  # a flat: its number on line 1, the building on line 2
            return Address(f"Flat {between(rng, 1, 40)}", f"{number} {street}", town, postcode, self.la_code)
        return Address(f"{number} {street}", "", town, postcode, self.la_code)
