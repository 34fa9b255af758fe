"""What a local authority tells ContactPoint about a child's life: a death, a move out of England and back, a new
identity (DESIGN.md section 1; Schedule 1: "date of death if notified", whereabouts "left England").

A new identity (adoption, witness protection) cuts every visible link to the old record: the child gets a new
ContactPoint ID and a record holding only what the authority enters, the old record is sealed at once, and
nothing in clear points from one to the other (no ``merged_into``, no shared source records, separate audit
entries). The one link is sealed inside the old record, readable only if that record is opened by two
authorised officers for a child protection enquiry, serious case review or child death review.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from django.db import transaction

from contactpoint import bulk
from contactpoint.access.authentication import user_actor
from contactpoint.access.models import User
from contactpoint.access.roles import Permission
from contactpoint.audit.actions import AuditAction
from contactpoint.audit.trail import record_event
from contactpoint.children.models import Child, ChildStatus
from contactpoint.children.record import (
    Carer,
    ChildRecord,
    Gender,
    PersonName,
    Provenance,
    Sourced,
    Whereabouts,
    WhereaboutsState,
)
from contactpoint.children.store import NewChild, cipher_for, create_children, load_record, save_record
from contactpoint.dates import anniversary, first_of_month, live_until
from contactpoint.errors import ContactPointError, LifecycleError, ValidationError
from contactpoint.lifecycle import consent as consents
from contactpoint.lifecycle import transitions
from contactpoint.lifecycle.common import authority_child, new_key, require, seal
from contactpoint.lifecycle.models import Archive, DeathNotice, NewIdentityGuard
from contactpoint.names import forename_keys, name_parts
from contactpoint.vault import blindindex as bi
from contactpoint.vault.keyring import KeyRing
from contactpoint.vault.tokens import dob_variants, family_dob_tokens, identifier_tokens

RETURN_YEARS = 3


def _provenance(user: User, today: date) -> Provenance:
    return Provenance(f"la:{user.organisation.la_code}", "manual", today)


def notify_death(user: User, cpid: str, *, date_of_death: date, how: str, keyring: KeyRing,
                 now: datetime) -> DeathNotice:
    """Record a notified death. The record stays live for a year after it (the daily run then archives it)."""
    require(user, Permission.LA_LIFECYCLE_MANAGE, "Your role does not include notifying a death.")
    how = (how or "").strip()
    if not how:
        raise ValidationError("how", "enter how the death was notified")
    if date_of_death > now.date():
        raise ValidationError("date_of_death", "the date of death must be today or in the past")
    with transaction.atomic():
        child = authority_child(user, cpid, lock=True)
        cipher = cipher_for(keyring, child)
        record = load_record(keyring, child, cipher)
        if date_of_death < record.date_of_birth.value:
            raise ValidationError("date_of_death", "the date of death must be on or after the date of birth")
        if DeathNotice.objects.filter(child=child).exists():
            raise LifecycleError("A death has already been notified for this child.")
        key = new_key()
        until = anniversary(date_of_death, 1)
        notice = DeathNotice.objects.create(
            key=key, child=child, notified_by=user, notified_at=now, live_until_month=first_of_month(until),
            payload=seal(cipher, "death", key, {"date_of_death": date_of_death, "how": how,
                                                "notified_on": now.date()}))
        save_record(keyring, child, record.with_changes(
            date_of_death=Sourced(date_of_death, _provenance(user, now.date()))), now=now, cipher=cipher)
        record_event(AuditAction.DEATH_NOTIFIED, actor=user_actor(user), keyring=keyring, at=now, subjects=[cpid])
    return notice


def left_england(user: User, cpid: str, *, left_on: date, intends_to_return: bool | None, keyring: KeyRing,
                 now: datetime) -> None:
    """A child who has left England: whereabouts recorded as such, then archived from the day they left."""
    require(user, Permission.LA_LIFECYCLE_MANAGE, "Your role does not include recording a move.")
    if left_on > now.date():
        raise ValidationError("left_on", "the date the child left must be today or in the past")
    with transaction.atomic():
        child = authority_child(user, cpid, lock=True)
        record = load_record(keyring, child)
        address = record.whereabouts.value.address if record.whereabouts else None
        save_record(keyring, child, record.with_changes(whereabouts=Sourced(
            Whereabouts(WhereaboutsState.LEFT_ENGLAND, address, intends_to_return, left_on),
            _provenance(user, now.date()))), now=now)
        record_event(AuditAction.LEFT_ENGLAND, actor=user_actor(user), keyring=keyring, at=now, subjects=[cpid])
        transitions.archive(keyring, child, on=left_on, reason=transitions.Reason.LEFT_ENGLAND,
                            actor=user_actor(user), now=now,
                            extra={"left_on": left_on, "intends_to_return": intends_to_return})


def returned_to_england(user: User, cpid: str, *, returned_on: date, keyring: KeyRing, now: datetime) -> None:
    """A child who left England is back: within 3 years of leaving, and still of an age to be on ContactPoint,
    the record is live again."""
    require(user, Permission.LA_LIFECYCLE_MANAGE, "Your role does not include recording a move.")
    if returned_on > now.date():
        raise ValidationError("returned_on", "the date the child returned must be today or in the past")
    with transaction.atomic():
        child = authority_child(user, cpid, statuses=(ChildStatus.ARCHIVED, ChildStatus.SEALED), lock=True)
        cipher = cipher_for(keyring, child)
        info = transitions.archive_info(keyring, child, cipher)
        if info.get("reason") != transitions.Reason.LEFT_ENGLAND:
            raise LifecycleError("This record was not archived because the child left England, so it cannot be "
                                 "restored.")
        left_on = date.fromisoformat(info["left_on"])
        if returned_on < left_on:
            raise ValidationError("returned_on", "the date the child returned must be after the date they left")
        if returned_on > anniversary(left_on, RETURN_YEARS):
            raise LifecycleError("The child came back more than 3 years after leaving England: the record stays "
                                 "archived. A new record is made when a source next sends their details.")
        record = load_record(keyring, child, cipher)
        death = record.date_of_death.value if record.date_of_death else None
        until = live_until(record.date_of_birth.value, consent_to_25=consents.active_consent(child) is not None,
                           date_of_death=death)
        if until <= now.date():
            raise LifecycleError("The young person is now past the age for a live record: it stays archived.")
        transitions.restore(keyring, child, actor=user_actor(user), now=now, live_until=until)
        child.refresh_from_db()
        save_record(keyring, child, record.with_changes(whereabouts=Sourced(
            Whereabouts(WhereaboutsState.LAST_KNOWN,
                        record.whereabouts.value.address if record.whereabouts else None),
            _provenance(user, now.date()))), now=now, cipher=cipher)


class IdentityKind(StrEnum):
    ADOPTION = "adoption"
    WITNESS_PROTECTION = "witness_protection"


@dataclass(frozen=True)
class NewIdentity:
    kind: IdentityKind
    given: str
    family: str
    middle: str = ""
    date_of_birth: date | None = None  # unchanged unless the new identity needs a new one
    carers: tuple[Carer, ...] = ()


def new_identity(user: User, cpid: str, identity: NewIdentity, *, keyring: KeyRing, now: datetime) -> str:
    """Give a child a new identity: a new record with a new ContactPoint ID, the old one sealed. Returns the new
    ContactPoint ID (shown once to the officer; it appears nowhere next to the old one)."""
    require(user, Permission.LA_LIFECYCLE_MANAGE, "Your role does not include recording a new identity.")
    given, family = identity.given.strip(), identity.family.strip()
    if not given:
        raise ValidationError("given", "enter the child's new given name")
    if not family:
        raise ValidationError("family", "enter the child's new family name")
    if identity.date_of_birth and identity.date_of_birth > now.date():
        raise ValidationError("date_of_birth", "the date of birth must be in the past")
    with transaction.atomic():
        old = authority_child(user, cpid, lock=True)
        record = load_record(keyring, old)
        prov = _provenance(user, now.date())
        fresh = ChildRecord(
            cpid="", name=Sourced(PersonName(given, family, identity.middle.strip()), prov),
            gender=Sourced(record.gender.value if record.gender else Gender.NOT_SPECIFIED, prov),
            date_of_birth=Sourced(identity.date_of_birth or record.date_of_birth.value, prov),
            carers=tuple(Sourced(c, prov) for c in identity.carers if c.name.strip()))
        [made] = create_children(keyring, [NewChild(fresh, responsible_la=old.responsible_la)], now=now)
        record_event(AuditAction.CHILD_CREATED, actor=user_actor(user), keyring=keyring, at=now,
                     subjects=[made.cpid], context={"by": "local authority"})
        # The only link: sealed inside the old record, under the old record's key.
        transitions.archive(keyring, old, on=now.date(), reason=transitions.Reason.NEW_IDENTITY,
                            actor=user_actor(user), now=now, sealed=True,
                            extra={"kind": identity.kind.value, "new_cpid": made.cpid})
        record_event(AuditAction.NEW_IDENTITY, actor=user_actor(user), keyring=keyring, at=now, subjects=[cpid],
                     detail={"kind": identity.kind.value})
        _guard(keyring, old, record)
    return made.cpid


def _identifiers(record: ChildRecord) -> dict[str, str]:
    return {name: _normal(value.value) for name, value in
            (("nhs_number", record.nhs_number), ("upn", record.upn), ("uln", record.uln)) if value and value.value}


def _normal(identifier: str | None) -> str:
    return "".join((identifier or "").split()).upper()


def _guard_tokens(keyring: KeyRing, record: ChildRecord) -> set[int]:
    """What a sealed old identity is recognised by: its identifiers' tokens, and each of its family names' sound
    with its date of birth (keyed, truncated tokens as in the index: never a value)."""
    tokens = identifier_tokens(keyring, **{k: _identifiers(record).get(k) for k in ("nhs_number", "upn", "uln")})
    if record.date_of_birth is not None and record.name is not None:
        tokens |= family_dob_tokens(keyring, family_names=_family_names(record),
                                    date_of_birth=record.date_of_birth.value)
    return tokens


def _family_names(record: ChildRecord) -> list[str]:
    return [record.name.value.family, *(f.value.family for f in record.former_names)] if record.name else []


def _guard(keyring: KeyRing, old: Child, record: ChildRecord) -> int:
    """Keep the old record's tokens, so that a source sending the old details again (an identifier, or the old
    name and date of birth) is held rather than making the old identity visible again (``new_identity_matches``).
    Adds only those missing; returns how many it added."""
    have = set(NewIdentityGuard.objects.filter(child=old).values_list("token", flat=True))
    missing = sorted(_guard_tokens(keyring, record) - have)
    NewIdentityGuard.objects.bulk_create(NewIdentityGuard(child=old, token=t) for t in missing)
    return len(missing)


def guard_earlier_new_identities(keyring: KeyRing) -> int:
    """Guard the records sealed for a new identity before guards existed, and give guards made before they held
    names the old name and date of birth (``lifecycle guard-new-identities``, run once after lifecycle migration
    0002 and again after the release that added the names): each sealed record's archive says, sealed, why it
    was sealed. Safe to run again. Returns how many records it guarded or completed."""
    count = 0
    for child in Child.objects.filter(status=ChildStatus.SEALED).order_by("id"):
        try:
            info = transitions.archive_info(keyring, child)
        except (Archive.DoesNotExist, ContactPointError):
            continue  # no archive, or a key already destroyed: nothing left to guard
        if info.get("reason") == transitions.Reason.NEW_IDENTITY:
            with transaction.atomic():
                if _guard(keyring, child, load_record(keyring, child)):
                    count += 1
    return count


class Recognised(StrEnum):
    """How a feed row was recognised as a sealed old identity."""

    IDENTIFIER = "identifier"  # its NHS number, UPN or ULN
    DETAILS = "details"  # its name and date of birth, at its address (or with no address to tell them apart)


def guard_lookup_tokens(tokens: Iterable[int]) -> list[int]:
    """Of a feed row's lookup tokens, those a guard may hold: its identifiers' and its family names' sound with a
    date of birth (the row's other tokens, about thirty, would only lengthen the query)."""
    return [t for t in tokens if bi.index_number(t) in _GUARD_INDEXES]


_GUARD_INDEXES = frozenset(i.number for i in (bi.NHS_NUMBER, bi.MATCH_NHS_NUMBER, bi.UPN, bi.MATCH_UPN, bi.ULN,
                                              bi.FAMILY_DOB))


def new_identity_matches(keyring: KeyRing, tokens: Mapping[str, Iterable[int]],
                         row_of: Callable[[str], Any]) -> dict[str, tuple[str, Recognised]]:
    """Which feed rows carry the old details of a record sealed for a new identity: an identifier (NHS number,
    UPN, ULN) of it, or its name and date of birth (``_same_details``). For each, the local authority of that
    record (the one that made the new identity), which must decide what to do with it, and how it was recognised.
    ``tokens`` are each row's lookup tokens (``guard_lookup_tokens``); a row that shares one is opened
    (``row_of``), with the sealed record, and compared exactly (tokens are truncated and may collide)."""
    if not tokens or not NewIdentityGuard.objects.exists():  # the usual case: no new identity ever made
        return {}
    wanted = {t for ts in tokens.values() for t in ts}
    guards: dict[int, set[int]] = {}
    # A batch's rows bring tens of thousands of tokens: an array parameter (PostgreSQL) or IN lists in chunks.
    for token, child_id in bulk.select_any(
            "SELECT g.token, g.child_id FROM lifecycle_new_identity_guard g JOIN children_child c "
            "ON c.id = g.child_id WHERE c.status = %s AND g.token {any}", sorted(wanted), [ChildStatus.SEALED.value]):
        guards.setdefault(token, set()).add(child_id)
    if not guards:
        return {}
    records: dict[int, tuple[str, ChildRecord]] = {}
    found = {}
    for key, row_tokens in tokens.items():
        olds = {c for t in row_tokens for c in guards.get(t, ())}
        if not olds:
            continue
        row = row_of(key)
        given = {name: _normal(getattr(row, name, None)) for name in ("nhs_number", "upn", "uln")}
        for child_id in sorted(olds):
            if child_id not in records:
                old = Child.objects.get(pk=child_id)
                records[child_id] = (old.responsible_la, load_record(keyring, old))
            la, record = records[child_id]
            if any(given.get(name) == value for name, value in _identifiers(record).items()):
                found[key] = (la, Recognised.IDENTIFIER)
                break
            if _same_details(row, record):
                found[key] = (la, Recognised.DETAILS)
                break
    return found


def _same_details(row: Any, record: ChildRecord) -> bool:
    """Whether a feed row (with no identifier of the old record) brings back the old identity by its details: the
    same date of birth (or with day and month swapped), a family name (or part of one, or a former one) and a given
    name (or one it may be short for, or the first of the forenames a source sends in one field) in common, and
    the same postcode or first address line; or no address at all to tell them apart. Another child with the same
    name and birthday at another address is not held; one with no address is, for a data manager to tell (a held
    row is not lost: a new identity lost is not found)."""
    born = getattr(row, "date_of_birth", None)
    if born is None or record.date_of_birth is None or record.name is None:
        return False
    if born not in dob_variants(record.date_of_birth.value, fuzzy=True):
        return False
    name = row.name
    row_families = {p for f in (name.family, *row.former_family_names) for p in name_parts(f or "")}
    if not row_families & {p for f in _family_names(record) for p in name_parts(f)}:
        return False
    if not forename_keys(name.given or "") & forename_keys(record.name.value.given):  # "Amelia Rose" is Amelia
        return False
    address = row.address
    if address is None or not (address.postcode or address.line_1):
        return True
    old = record.whereabouts.value.address if record.whereabouts else None
    if old is None:
        return True
    return bool((address.postcode and _place(address.postcode) == _place(old.postcode))
                or (address.line_1 and _place(address.line_1) == _place(old.line_1)))


def _place(text: str | None) -> str:
    return "".join((text or "").split()).upper()


__all__ = ["Child", "IdentityKind", "NewIdentity", "Recognised", "guard_earlier_new_identities", "guard_lookup_tokens",
           "left_england", "new_identity", "new_identity_matches", "notify_death", "returned_to_england"]
