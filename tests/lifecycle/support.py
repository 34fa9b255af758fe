"""Helpers for lifecycle tests: a fixed clock, and children fed through the real ingest from three sources."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

import time_machine

COLUMNS = ["source_record_id", "given_name", "family_name", "gender", "date_of_birth", "date_of_death", "nhs_number",
           "upn", "address_line_1", "town", "postcode", "whereabouts", "carer_1_name", "carer_1_relationship",
           "carer_1_parental_responsibility", "carer_1_phone", "setting_urn", "setting_name", "setting_start_date",
           "gp_practice_code", "gp_practice_name", "gp_start_date", "service_name", "practitioner_name",
           "practitioner_phone", "involvement_start_date", "updated_at"]


def at(day: date, hour: int = 10):
    """Travel to ``day`` (a fixed clock: time does not tick)."""
    return time_machine.travel(datetime(day.year, day.month, day.day, hour, tzinfo=UTC), tick=False)


def now() -> datetime:
    from django.utils import timezone

    return timezone.now()


def feed(**rows: dict[str, str]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS)
    writer.writeheader()
    for source_record_id, row in rows.items():
        writer.writerow({"source_record_id": source_record_id, **row})
    return out.getvalue().encode()


def source(code: str, kind: str):
    from django.utils import timezone

    from contactpoint.access.models import Organisation
    from contactpoint.access.sources import register_source
    from contactpoint.vault.keyring import get_keyring

    return register_source(None, code=code, name=code, kind=kind,
                           organisation=Organisation.objects.get(code="CP-NATIONAL"), now=timezone.now(),
                           keyring=get_keyring())


def send(src, data: bytes):
    from contactpoint.ingest.run import ingest
    from contactpoint.vault.keyring import get_keyring

    return ingest(src, data, fmt="csv", keyring=get_keyring(), now=now())


def row(*, given="Amelia", family="Hartley", dob="2012-05-20", gender="female", nhs="9434765919",
        address="12 Agar Grove", town="London", postcode="NW1 8NP", **more: str) -> dict[str, str]:
    return {"given_name": given, "family_name": family, "gender": gender, "date_of_birth": dob, "nhs_number": nhs,
            "address_line_1": address, "town": town, "postcode": postcode, "whereabouts": "current",
            "carer_1_name": "Sarah Hartley", "carer_1_relationship": "mother",
            "carer_1_parental_responsibility": "yes", "carer_1_phone": "07700 900123", **more}


def three_sources():
    """A GP registration system, a school census and child benefit, each sending the same child."""
    gp = source("gp-test", "gp_registrations")
    school = source("school-census-test", "school_census")
    benefit = source("child-benefit-test", "child_benefit")
    send(gp, feed(**{"GP-1": row(gp_practice_code="F83004", gp_practice_name="Camden Health Centre",
                                 gp_start_date="2012-06-01")}))
    send(school, feed(**{"UPN-1": row(setting_urn="100001", setting_name="Agar Grove Primary",
                                      setting_start_date="2016-09-05")}))
    send(benefit, feed(**{"CB-1": row()}))
    return gp, school, benefit


def people():
    from tests.factories import make_person

    return (make_person("dm.one", role="data-manager").user, make_person("dm.two", role="data-manager").user,
            make_person("sam.social").user)


def find(user, **criteria):
    from contactpoint.access.reasons import parse_reason
    from contactpoint.config import SearchSettings
    from contactpoint.search.criteria import parse_criteria
    from contactpoint.search.service import search
    from contactpoint.vault.keyring import get_keyring

    limits = SearchSettings(result_cap=20, searches_per_minute=10_000, searches_per_hour=10_000,
                            searches_per_day=10_000)
    result = search(user, parse_criteria(today=now().date(), **criteria), parse_reason("child_protection"),
                    keyring=get_keyring(), now=now(), limits=limits)
    return [h.cpid for h in result.hits]


def lifecycle_run():
    from contactpoint.lifecycle.run import run
    from contactpoint.vault.keyring import get_keyring

    return run(get_keyring(), today=now().date(), now=now())


def born(on: date, *, given: str = "Amelia", family: str = "Hartley", shielded: bool = False) -> str:
    """A child born on ``on`` (added the way a feed would, without one)."""
    from contactpoint.children.store import NewChild, create_children
    from contactpoint.vault.keyring import get_keyring
    from tests.factories import make_record

    record = make_record(given=given, family=family, dob=on)
    [made] = create_children(get_keyring(), [NewChild(record, responsible_la="202", shielded=shielded)], now=now())
    return made.cpid


def status(cpid: str) -> str:
    from contactpoint.children.models import Child

    child = Child.objects.filter(cpid=cpid).first()
    return child.status if child else "deleted"
