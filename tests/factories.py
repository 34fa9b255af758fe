"""Plain factory functions with safe defaults (no factory library: the defaults are the documentation)."""

from __future__ import annotations

from datetime import date

from contactpoint.children.record import (
    Address,
    Carer,
    ChildRecord,
    EducationSetting,
    Gender,
    GPPractice,
    Involvement,
    PersonName,
    Provenance,
    Sourced,
    SourceIdentifier,
    Whereabouts,
    WhereaboutsState,
)

PROV = Provenance(source="gp-registrations", feed="feed-1", received=date(2026, 11, 1))


def s(value, provenance: Provenance = PROV):
    return Sourced(value, provenance)


CAMDEN_GP = GPPractice("F83004", "Camden Health Centre", date(2015, 7, 1))


def make_record(
    *,
    given: str = "Amelia",
    family: str = "Hartley",
    middle: str = "",
    dob: date = date(2015, 6, 3),
    gender: Gender = Gender.FEMALE,
    nhs: str | None = "9434765919",
    upn: str | None = None,
    uln: str | None = None,
    postcode: str | None = "NW1 8NP",
    former_families: tuple[str, ...] = (),
    carers: tuple[Carer, ...] = (Carer("Sarah Hartley", "mother", True, "07700 900123"),),
    involvements: tuple[Involvement, ...] = (),
    education: EducationSetting | None = None,
    gp: GPPractice | None = CAMDEN_GP,
) -> ChildRecord:
    return ChildRecord(
        cpid="",
        name=s(PersonName(given=given, middle=middle, family=family)),
        gender=s(gender),
        date_of_birth=s(dob),
        former_names=tuple(s(PersonName(given=given, family=f)) for f in former_families),
        nhs_number=s(nhs) if nhs else None,
        upn=s(upn) if upn else None,
        uln=s(uln) if uln else None,
        whereabouts=s(Whereabouts(WhereaboutsState.CURRENT, Address("12 Agar Grove", "", "London", postcode)))
        if postcode else None,
        carers=tuple(s(c) for c in carers),
        education=s(education) if education else None,
        gp=s(gp) if gp else None,
        involvements=tuple(s(i) for i in involvements),
        source_ids=(SourceIdentifier("gp-registrations", "GP-000123"),),
    )


# --- people -------------------------------------------------------------------------------------------------

from dataclasses import dataclass as _dataclass  # noqa: E402
from datetime import UTC, datetime, timedelta  # noqa: E402

TOTP_KEY = "3132333435363738393031323334353637383930"  # RFC 6238's test key, hex
PASSWORD = "correct-horse-battery-staple"
PIN = "246810"


@_dataclass
class Person:
    user: object
    password: str
    pin: str
    totp_key: str

    def code(self, at: datetime | None = None) -> str:
        """The TOTP code the person's token shows at ``at`` (default: now, as time-machine sees it)."""
        from django_otp.oath import TOTP

        totp = TOTP(bytes.fromhex(self.totp_key), step=30, digits=6)
        if at is not None:
            totp.time = at.timestamp()
        return f"{totp.token():06d}"

    def next_code(self) -> str:
        from django_otp.oath import TOTP

        totp = TOTP(bytes.fromhex(self.totp_key), step=30, digits=6)
        totp.time = totp.time + 30
        return f"{totp.token():06d}"


def make_person(username: str = "sam.social", *, role: str = "sch3-1a", org: str = "LA-202",
                cleared_on=None, trained_on=None, full_name: str | None = None, ready: bool = True) -> Person:
    """A user with every condition of access met (unless ``ready`` is False: then credentials must still be
    changed and the policy signed, as after a bootstrap)."""
    from django.utils import timezone

    from contactpoint.access.administration import provision_user
    from contactpoint.access.models import Organisation
    from contactpoint.vault.keyring import get_keyring

    today = timezone.localdate()
    account = provision_user(
        organisation=Organisation.objects.get(code=org), username=username,
        full_name=full_name or username.replace(".", " ").title(), role_code=role,
        cleared_on=cleared_on or today - timedelta(days=365), clearance_reference="001122334455",
        trained_on=trained_on or today - timedelta(days=300), now=timezone.now(), keyring=get_keyring(),
        actor_name="system:test", password=PASSWORD, pin=PIN, totp_key_hex=TOTP_KEY,
        must_change_credentials=not ready)
    return Person(account.user, PASSWORD, PIN, TOTP_KEY)


def sign_in(client, person: Person, code: str | None = None):
    return client.post("/sign-in", {"username": person.user.username, "password": person.password,
                                    "pin": person.pin, "code": code or person.code()})


def vouched_org(code: str = "SCH-100001", name: str = "Agar Grove Primary", kind: str = "school",
                la: str = "LA-202"):
    from contactpoint.access.models import Organisation

    parent = Organisation.objects.get(code=la)
    return Organisation.objects.create(code=code, name=name, kind=kind, la_code=parent.la_code, vouched_by=parent)


_ = (UTC,)
