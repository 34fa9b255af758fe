"""The canary child: distinctive personal details that must never appear in clear anywhere we store or print.

``forms_of`` lists every spelling of each detail a careless system might write (case, spacing, date formats),
so that a test can search raw bytes (a database file, a dump, a log) for any of them."""

from __future__ import annotations

import functools
from datetime import date
from pathlib import Path

CANARY = {
    "given": "Quintessa",
    "family": "Vandersloot",
    "date_of_birth": date(2013, 9, 27),
    "postcode": "NW5 1TL",
    "nhs_number": "4857773457",
    "carer": "Ottoline Vandersloot",
}


def forms_of() -> dict[str, list[bytes]]:
    dob: date = CANARY["date_of_birth"]
    dates = [dob.isoformat(), f"{dob:%d/%m/%Y}", f"{dob:%Y%m%d}", f"{dob:%d%m%Y}", f"{dob.day} {dob:%B %Y}",
             f"{dob:%d-%m-%Y}"]
    postcode = CANARY["postcode"]
    nhs = CANARY["nhs_number"]
    words = {
        "given": [CANARY["given"]],
        "family": [CANARY["family"]],
        "carer": [CANARY["carer"].split()[0]],
        "date_of_birth": dates,
        "postcode": [postcode, postcode.replace(" ", "")],
        "nhs_number": [nhs, f"{nhs[:3]} {nhs[3:6]} {nhs[6:]}", f"{nhs[:3]}-{nhs[3:6]}-{nhs[6:]}"],
    }
    out: dict[str, list[bytes]] = {}
    for key, values in words.items():
        variants: set[bytes] = set()
        for v in values:
            for form in (v, v.upper(), v.lower()):
                variants.add(form.encode("utf-8"))
                variants.add(form.encode("utf-16-le"))
        out[key] = sorted(variants)
    return out


def leaks_in(blob: bytes) -> list[str]:
    """Which canary details appear in ``blob`` (empty when none)."""
    return [key for key, forms in forms_of().items() if any(form in blob for form in forms)]


@functools.cache
def _code() -> str:
    return "".join(path.read_text() for path in sorted((Path(__file__).parents[1] / "src").rglob("*.py")))


def repeats(value: str, message: str) -> bool:
    """Whether ``message`` repeats ``value``, which a refusal must never do. Hypothesis draws text from the code's
    own literals, so a value may be words of the message itself ("umb" is in "number"): only a value that is not
    words of the code, yet is in the message, came from what was typed."""
    return value in message and value not in _code()
