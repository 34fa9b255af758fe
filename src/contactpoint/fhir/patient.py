"""ContactPoint's child as a FHIR R4 ``Patient`` (UK Core profile).

A shielded child is labelled ``meta.security`` restricted (v3 Confidentiality ``R``) and carries only its
visible fields: the ContactPoint ID, names, gender, dates of birth and death, and the names of parents and
carers. Whereabouts, contacts, identifiers from other systems and the GP are simply absent (DESIGN.md
"Shielding"). Empty values are left out: FHIR does not allow empty strings.
"""

from __future__ import annotations

from typing import Any

from contactpoint.children.record import Gender, PersonName, WhereaboutsState
from contactpoint.fhir import systems
from contactpoint.records.view import RecordView
from contactpoint.search.service import Hit

GENDER = {Gender.MALE: "male", Gender.FEMALE: "female", Gender.NOT_SPECIFIED: "unknown"}
ADDRESS_USE = {WhereaboutsState.CURRENT: "home", WhereaboutsState.LAST_KNOWN: "old",
               WhereaboutsState.LEFT_ENGLAND: "old"}
PARENTAL_RESPONSIBILITY = "urn:contactpoint:extension:parental-responsibility"


def _clean(values) -> list[str]:
    return [v for v in values if v]


def _name(n: PersonName, use: str) -> dict[str, Any]:
    out: dict[str, Any] = {"use": use}
    if n.family:
        out["family"] = n.family
    given = _clean([n.given, *n.middle.split()])
    if given:
        out["given"] = given
    return out


def _meta(shielded: bool) -> dict[str, Any]:
    meta: dict[str, Any] = {"profile": [systems.UK_CORE_PATIENT]}
    if shielded:
        meta["security"] = [systems.RESTRICTED]
    return meta


def _address(line_1: str, line_2: str, town: str, postcode: str,
             use: str | None = None) -> dict[str, Any] | None:
    out: dict[str, Any] = {}
    if use:
        out["use"] = use
    if _clean([line_1, line_2]):
        out["line"] = _clean([line_1, line_2])
    if town:
        out["city"] = town
    if postcode:
        out["postalCode"] = postcode
    return out if len(out) > (1 if use else 0) else None


def from_hit(hit: Hit) -> dict[str, Any]:
    """A search result: who the child is, and (unless shielded) the town and postcode."""
    patient: dict[str, Any] = {
        "resourceType": "Patient", "id": hit.cpid, "meta": _meta(hit.shielded),
        "identifier": [{"system": systems.CONTACTPOINT_ID, "value": hit.cpid}],
        "name": [_name(PersonName(hit.given, hit.family, hit.middle), "official")],
        "gender": GENDER[hit.gender], "birthDate": hit.birthdate.isoformat(),
    }
    if not hit.shielded:
        address = _address("", "", hit.town or "", hit.postcode or "")
        if address:
            patient["address"] = [address]
    return patient


def from_view(view: RecordView) -> dict[str, Any]:
    """A read: the record as the user may see it (``records.view`` decided what is withheld)."""
    r = view.record
    patient: dict[str, Any] = {
        "resourceType": "Patient", "id": view.cpid, "meta": _meta(view.withheld),
        "identifier": [{"system": systems.CONTACTPOINT_ID, "value": view.cpid}],
        "name": [_name(r.name.value, "official"), *(_name(f.value, "old") for f in r.former_names)],
        "gender": GENDER[r.gender.value], "birthDate": r.date_of_birth.value.isoformat(),
    }
    if r.date_of_death is not None:
        patient["deceasedDateTime"] = r.date_of_death.value.isoformat()
    contacts = []
    for carer in r.carers:
        c = carer.value
        contact: dict[str, Any] = {"name": {"text": c.name}}
        if c.relationship:
            contact["relationship"] = [{"text": c.relationship}]
        if c.parental_responsibility is not None:
            contact["extension"] = [{"url": PARENTAL_RESPONSIBILITY,
                                     "valueBoolean": c.parental_responsibility}]
        if not view.withheld:
            telecom = ([{"system": "phone", "value": c.phone}] if c.phone else []) + \
                      ([{"system": "email", "value": c.email}] if c.email else [])
            if telecom:
                contact["telecom"] = telecom
        contacts.append(contact)
    if contacts:
        patient["contact"] = contacts
    if view.withheld:
        return patient
    for field, system in (("nhs_number", systems.NHS_NUMBER), ("upn", systems.UPN), ("uln", systems.ULN)):
        item = getattr(r, field)
        if item is not None:
            patient["identifier"].append({"system": system, "value": item.value})
    if r.whereabouts is not None:
        w = r.whereabouts.value
        patient["extension"] = [{"url": systems.WHEREABOUTS, "valueCode": w.state.value}]
        if w.address is not None:
            a = w.address
            address = _address(a.line_1, a.line_2, a.town, a.postcode, ADDRESS_USE.get(w.state))
            if address:
                patient["address"] = [address]
    if r.gp is not None:
        gp = r.gp.value
        reference: dict[str, Any] = {"identifier": {"system": systems.ODS_ORGANISATION, "value": gp.code}}
        if gp.name:
            reference["display"] = gp.name
        if gp.code:
            patient["generalPractitioner"] = [reference]
    return patient
