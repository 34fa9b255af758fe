"""Reference data that ContactPoint ships with: local authorities in England and the national partners.

The DfE LA code list keeps the codes of councils that were replaced (Dorset 2019, Northamptonshire 2021,
Cumbria 2023): Unique Pupil Numbers issued by them stay valid for life.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib.resources import files


@dataclass(frozen=True)
class LocalAuthority:
    code: str
    name: str
    region: str
    current: bool
    succeeded_by: str | None


@dataclass(frozen=True)
class NationalPartner:
    """Annex B of the seed (regulation 9(3)): bodies that grant access to their own employees."""

    code: str
    name: str
    charity_number: str | None


NATIONAL_PARTNERS: tuple[NationalPartner, ...] = (
    NationalPartner("NP-KIDS", "KIDS", "275936"),
    NationalPartner("NP-BARNARDOS", "Barnardo's", "216250"),
    NationalPartner("NP-NSPCC", "The National Society for the Prevention of Cruelty to Children", "216401"),
    NationalPartner("NP-AFC", "Action for Children", "1097940/SC038092"),
    NationalPartner("NP-TCS", "Church of England Children's Society", "221124"),
    NationalPartner("NP-CEOP", "The Child Exploitation and Online Protection Centre", None),
    NationalPartner("NP-CAFCASS", "The Children and Family Court Advisory and Support Service", None),
)


@cache
def local_authorities() -> tuple[LocalAuthority, ...]:
    text = files(__package__).joinpath("local_authorities.csv").read_text(encoding="utf-8")
    return tuple(
        LocalAuthority(
            code=row["la_code"],
            name=row["name"],
            region=row["region"],
            current=row["current"] == "yes",
            succeeded_by=row["succeeded_by"] or None,
        )
        for row in csv.DictReader(text.splitlines())
    )


@cache
def current_local_authorities() -> tuple[LocalAuthority, ...]:
    return tuple(la for la in local_authorities() if la.current)


@cache
def la_codes() -> frozenset[str]:
    """Every LA code ever issued, current or not (what a UPN may carry)."""
    return frozenset(la.code for la in local_authorities())


def local_authority(code: str) -> LocalAuthority | None:
    return next((la for la in local_authorities() if la.code == code), None)


@cache
def _districts() -> dict[str, str]:
    text = files(__package__).joinpath("postcode_districts.csv").read_text(encoding="utf-8")
    return {row["outward_code"]: row["la_code"] for row in csv.DictReader(text.splitlines())}


def la_for_postcode(postcode: str | None) -> str | None:
    """The local authority a postcode district lies in, where the installed table knows it.

    The table shipped here covers the districts of the synthetic data; production loads the ONS National
    Statistics Postcode Lookup into the same file (docs/operations.md). A district split between authorities
    maps to the one holding most of it."""
    if not postcode:
        return None
    return _districts().get(postcode.split(" ")[0])
