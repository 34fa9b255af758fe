"""The canary child: distinctive personal details that must never appear in clear anywhere we store or print.

``forms_of`` lists every spelling of each detail a careless system might write (case, spacing, date formats),
so that a test can search raw bytes (a database file, a dump, a log) for any of them."""

from __future__ import annotations

from datetime import date

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
