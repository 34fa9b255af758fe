"""A ``RecordView`` (``contactpoint.records.view``) as JSON. What is withheld was decided there; this module
only leaves out what is not in the view, so a shielded record carries its visible fields and nothing else."""

from __future__ import annotations

from datetime import date
from typing import Any

from contactpoint.children.record import PersonName, Provenance, Sourced
from contactpoint.records.view import SENSITIVE_NOTICE, RecordView
from contactpoint.search.service import Hit

SHIELDED_NOTICE = ("This record is shielded. Only the child's name, gender, date of birth, ContactPoint ID "
                   "and the names of parents and carers are shown. For anything else, contact the local "
                   "authority ContactPoint team.")


def _prov(p: Provenance) -> dict[str, Any]:
    return {"source": p.source, "feed": p.feed, "received": p.received}


def _name(item: Sourced[PersonName]) -> dict[str, Any]:
    n = item.value
    return {"given": n.given, "middle": n.middle, "family": n.family, "provenance": _prov(item.provenance)}


def _valued(item: Sourced[Any] | None) -> dict[str, Any] | None:
    if item is None:
        return None
    value = item.value.isoformat() if isinstance(item.value, date) else str(item.value)
    return {"value": value, "provenance": _prov(item.provenance)}


def _setting(item: Sourced[Any] | None) -> dict[str, Any] | None:
    if item is None:
        return None
    v = item.value
    return {"code": getattr(v, "urn", None) or getattr(v, "code", ""), "name": v.name,
            "start_date": v.start_date, "provenance": _prov(item.provenance)}


def record_json(view: RecordView, *, today: date) -> dict[str, Any]:
    r = view.record
    out: dict[str, Any] = {
        "contactpoint_id": view.cpid,
        "shielded": view.shielded,
        "responsible_local_authority": view.responsible_la,
        "last_updated": r.last_updated(),
        "name": _name(r.name),
        "former_names": [_name(f) for f in r.former_names],
        "gender": _valued(r.gender),
        "date_of_birth": _valued(r.date_of_birth),
        "date_of_death": _valued(r.date_of_death),
        "parents_and_carers": [
            {"name": c.value.name, "relationship": c.value.relationship,
             "parental_responsibility": c.value.parental_responsibility,
             **({} if view.withheld else {"phone": c.value.phone, "email": c.value.email}),
             "provenance": _prov(c.provenance)} for c in r.carers],
    }
    if view.withheld:
        out["notice"] = SHIELDED_NOTICE
        return out
    w = r.whereabouts
    out.update({
        "nhs_number": _valued(r.nhs_number),
        "upn": _valued(r.upn),
        "uln": _valued(r.uln),
        "whereabouts": None if w is None else {
            "state": w.value.state.value,
            "address": None if w.value.address is None else {
                "line_1": w.value.address.line_1, "line_2": w.value.address.line_2,
                "town": w.value.address.town, "postcode": w.value.address.postcode},
            "intends_to_return": w.value.intends_to_return, "left_on": w.value.left_on,
            "provenance": _prov(w.provenance)},
        "education": _setting(r.education),
        "gp_practice": _setting(r.gp),
        "services_involved": [
            {"service": i.value.service, "organisation": i.value.organisation,
             "practitioner_name": i.value.practitioner_name, "practitioner_phone": i.value.practitioner_phone,
             "practitioner_email": i.value.practitioner_email, "start_date": i.value.start_date,
             "end_date": i.value.end_date, "active": i.value.active_on(today),
             "lead_professional": i.value.lead_professional, "caf_completed": i.value.caf_completed,
             "provenance": _prov(i.provenance)} for i in r.involvements],
        "sensitive_service_notice": SENSITIVE_NOTICE if view.sensitive_involved else None,
        "own_source_identifiers": [{"source": s.source, "identifier": s.identifier}
                                   for s in view.own_source_ids],
    })
    return out


def hit_json(hit: Hit) -> dict[str, Any]:
    return {"contactpoint_id": hit.cpid, "given": hit.given, "middle": hit.middle, "family": hit.family,
            "birthdate": hit.birthdate, "gender": hit.gender.value, "shielded": hit.shielded,
            "town": None if hit.shielded else hit.town, "postcode": None if hit.shielded else hit.postcode,
            "score": round(hit.score.probability, 4)}
