"""A local authority corrects or completes a child's record (issue 19; seed: "If a local authority considers that
there are inaccuracies or omitted information in a record for which it is responsible, the authority must also take
reasonable steps to correct the inaccuracy or to complete the record").

A data manager of the responsible authority changes one value (name, date of birth, gender, address, NHS number,
UPN, ULN, parents and carers, educational setting, GP practice), with a reason. The new value carries the
authority's own provenance (the authority, the date, who) and wins over every source until:

- a source sends a *newer* value that agrees with it: the amendment has served its purpose and is retired (the
  source's value then stands on its own);
- a data manager withdraws it: the sources' value returns;
- a later amendment of the same value replaces it.

A source that keeps sending a disagreeing value gets a discrepancy item (``bestview.discrepancies``), and the
amended value stays. Identifiers are what records are matched on, so a wrong one can join two children: an NHS
number, UPN or ULN amendment is a proposal that takes effect only when a second data manager of the same authority
approves it, never the one who proposed it (four eyes, as for shielding).

Values are checked as a feed's are (the same identifier checks; names and address lines by the feed's rules). The
value and the reason are sealed with the child's data key; the audit trail records the field, never the value.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import orjson
from django.db import transaction

from contactpoint import bulk
from contactpoint.access.authentication import user_actor
from contactpoint.access.models import User
from contactpoint.access.roles import Permission
from contactpoint.audit.actions import AuditAction
from contactpoint.audit.trail import Actor, record_event
from contactpoint.bestview.build import Amendment as InForce
from contactpoint.bestview.build import Held, build
from contactpoint.bestview.build import amend as amend_record
from contactpoint.bestview.discrepancies import sync_discrepancies
from contactpoint.children.identifiers import (
    MAX_AGE_YEARS,
    MAX_NAME,
    MAX_ORGANISATION,
    MAX_RELATIONSHIP,
    check_not_future,
    has_invisible,
    normalise_gp_practice_code,
    normalise_nhs_number,
    normalise_phone,
    normalise_postcode,
    normalise_setting_urn,
    normalise_uln,
    normalise_upn,
    parse_date,
)
from contactpoint.children.models import Child, ChildStatus, SourceRecord
from contactpoint.children.record import Address, Carer, EducationSetting, Gender, GPPractice, PersonName
from contactpoint.children.source_records import open_payload
from contactpoint.children.store import cipher_for, load_record, save_records
from contactpoint.dates import years_before
from contactpoint.errors import LifecycleError, NotFound, PermissionDenied, ValidationError
from contactpoint.records.involvements import manual_entries
from contactpoint.records.models import Amendment
from contactpoint.vault.cipher import ChildCipher
from contactpoint.vault.keyring import KeyRing

Field = Amendment.Field
Status = Amendment.Status
FOUR_EYES = frozenset({Field.NHS_NUMBER, Field.UPN, Field.ULN})  # identifiers: a second data manager approves
CARERS = 2  # as many as a feed's row holds (carer_1_..., carer_2_...)
CARER_INPUTS = ("name", "relationship", "parental_responsibility", "phone")
# Which form inputs make up each value (the web form, the API body and the CLI's options use these names).
INPUTS: dict[str, tuple[str, ...]] = {
    Field.NAME: ("given_name", "middle_names", "family_name"),
    Field.DATE_OF_BIRTH: ("date_of_birth",),
    Field.GENDER: ("gender",),
    Field.ADDRESS: ("address_line_1", "address_line_2", "town", "postcode"),
    Field.NHS_NUMBER: ("nhs_number",),
    Field.UPN: ("upn",),
    Field.ULN: ("uln",),
    Field.CARERS: tuple(f"carer_{n}_{part}" for n in range(1, CARERS + 1) for part in CARER_INPUTS),
    Field.EDUCATION: ("setting_urn", "setting_name", "setting_start_date"),
    Field.GP: ("gp_practice_code", "gp_practice_name", "gp_start_date"),
}
# Withheld on a shielded record's page (records.view): whereabouts, identifiers, the setting and the GP (they say
# where the child is), and the carers too: the page shows a shielded child's carers by name only, and a change
# form would show (and a partial one silently drop) their contact details.
HIDDEN_WHEN_SHIELDED = frozenset({Field.ADDRESS, Field.NHS_NUMBER, Field.UPN, Field.ULN, Field.CARERS,
                                  Field.EDUCATION, Field.GP})
REASON_MAX = 500
NOT_YOURS = "There is no record with that ContactPoint ID that your local authority is responsible for."
NO_SUCH = "There is no change with that reference for your local authority."
GENDERS = {"male": Gender.MALE, "female": Gender.FEMALE, "not specified": Gender.NOT_SPECIFIED}
YES_NO = {"yes": True, "no": False, "": None, "not known": None}


# --- checking a value ---------------------------------------------------------------------------------------


def _plain(raw: str | None, field: str, what: str, *, required: bool, letters: bool = False,
           limit: int = MAX_NAME) -> str:
    """A name or an address line by the feed's rules: no control or invisible characters, at most 100 characters,
    spaces collapsed; a name needs a letter."""
    text = " ".join((raw or "").split())
    if not text:
        if required:
            raise ValidationError(field, f"enter {what}")
        return ""
    if has_invisible(text):
        raise ValidationError(field, f"{what} contains a control or invisible character")
    if len(text) > limit:
        raise ValidationError(field, f"{what} must be {limit} characters or fewer")
    if letters and not any(ch.isalpha() for ch in text):
        raise ValidationError(field, f"{what} needs at least one letter, not only digits or signs")
    return text


def check_value(field: str, values: Mapping[str, str], today: date) -> Any:
    """The new value for ``field`` from its inputs (``INPUTS``), checked as a feed's value would be; else
    ``ValidationError`` naming the input and what is wrong (never repeating the value)."""
    def get(name: str) -> str:
        return str(values.get(name) or "").strip()

    if field == Field.NAME:
        return PersonName(given=_plain(get("given_name"), "given_name", "the given name", required=True, letters=True),
                          middle=_plain(get("middle_names"), "middle_names", "the middle names", required=False,
                                        letters=True),
                          family=_plain(get("family_name"), "family_name", "the family name", required=True,
                                        letters=True))
    if field == Field.DATE_OF_BIRTH:
        if not get("date_of_birth"):
            raise ValidationError("date_of_birth", "enter the date of birth")
        born = check_not_future(parse_date(get("date_of_birth"), "date_of_birth"), today, "date_of_birth")
        if born < years_before(today, MAX_AGE_YEARS):
            raise ValidationError("date_of_birth", f"the date of birth must be within the last {MAX_AGE_YEARS} "
                                                   "years: ContactPoint holds children")
        return born
    if field == Field.GENDER:
        gender = GENDERS.get(get("gender").lower())
        if gender is None:
            raise ValidationError("gender", "choose male, female or not specified")
        return gender
    if field == Field.ADDRESS:
        line_1 = _plain(get("address_line_1"), "address_line_1", "the first line of the address", required=True)
        line_2 = _plain(get("address_line_2"), "address_line_2", "the second line of the address", required=False)
        town = _plain(get("town"), "town", "the town or city", required=False)
        if not get("postcode"):
            raise ValidationError("postcode", "enter the postcode")
        return Address(line_1, line_2, town, normalise_postcode(get("postcode")))
    if field == Field.NHS_NUMBER:
        if not get("nhs_number"):
            raise ValidationError("nhs_number", "enter the NHS number")
        return normalise_nhs_number(get("nhs_number"))
    if field == Field.UPN:
        if not get("upn"):
            raise ValidationError("upn", "enter the UPN")
        return normalise_upn(get("upn").upper())
    if field == Field.ULN:
        if not get("uln"):
            raise ValidationError("uln", "enter the ULN")
        if not get("uln").isascii():
            raise ValidationError("uln", "a ULN is written in ASCII digits")
        return normalise_uln(get("uln"))
    if field == Field.CARERS:
        return _carers(get)
    if field == Field.EDUCATION:
        if not get("setting_urn"):
            raise ValidationError("setting_urn", "enter the setting's URN")
        return EducationSetting(normalise_setting_urn(get("setting_urn")),
                                _plain(get("setting_name"), "setting_name", "the setting's name", required=True,
                                       limit=MAX_ORGANISATION),
                                _event_date(get("setting_start_date"), "setting_start_date", today))
    if field == Field.GP:
        if not get("gp_practice_code"):
            raise ValidationError("gp_practice_code", "enter the practice's ODS code")
        return GPPractice(normalise_gp_practice_code(get("gp_practice_code")),
                          _plain(get("gp_practice_name"), "gp_practice_name", "the practice's name", required=True,
                                 limit=MAX_ORGANISATION),
                          _event_date(get("gp_start_date"), "gp_start_date", today))
    raise ValidationError("field", "this value cannot be changed here")


def _event_date(raw: str, field: str, today: date) -> date | None:
    """An optional date in the child's life, as a feed's: a real date, not in the future, within a child's
    lifetime."""
    if not raw:
        return None
    day = check_not_future(parse_date(raw, field), today, field)
    if day < years_before(today, MAX_AGE_YEARS):
        raise ValidationError(field, f"the date must be within the last {MAX_AGE_YEARS} years")
    return day


def _carers(get) -> tuple[Carer, ...]:
    """The child's parents and carers as the record will hold them (the whole list: it replaces the sources')."""
    out = []
    for n in range(1, CARERS + 1):
        name, relationship, responsibility, phone = (f"carer_{n}_{part}" for part in CARER_INPUTS)
        if not get(name):
            if any(get(other) for other in (relationship, responsibility, phone)):
                raise ValidationError(name, f"enter the name of parent or carer {n}, or leave their details empty")
            continue
        if get(responsibility).lower() not in YES_NO:
            raise ValidationError(responsibility, "say yes, no or not known")
        out.append(Carer(
            _plain(get(name), name, f"the name of parent or carer {n}", required=True, letters=True),
            _plain(get(relationship), relationship, "the relationship", required=False,
                   limit=MAX_RELATIONSHIP).lower(),
            YES_NO[get(responsibility).lower()],
            normalise_phone(get(phone), phone) if get(phone) else ""))
    if not out:
        raise ValidationError("carer_1_name", "enter the name of at least one parent or carer")
    return tuple(out)


def check_reason(reason: str | None) -> str:
    reason = " ".join((reason or "").split())
    if not reason:
        raise ValidationError("reason", "say why the value is being changed")
    if len(reason) > REASON_MAX:
        raise ValidationError("reason", f"the reason must be {REASON_MAX} characters or fewer")
    return reason


# --- sealing -------------------------------------------------------------------------------------------------


def _encode(field: str, value: Any) -> Any:
    if field == Field.NAME:
        return [value.given, value.middle, value.family]
    if field == Field.ADDRESS:
        return [value.line_1, value.line_2, value.town, value.postcode]
    if field == Field.DATE_OF_BIRTH:
        return value.isoformat()
    if field == Field.CARERS:
        return [[c.name, c.relationship, c.parental_responsibility, c.phone] for c in value]
    if field == Field.EDUCATION:
        return [value.urn, value.name, value.start_date.isoformat() if value.start_date else None]
    if field == Field.GP:
        return [value.code, value.name, value.start_date.isoformat() if value.start_date else None]
    return str(value)


def _decode(field: str, raw: Any) -> Any:
    if field == Field.NAME:
        return PersonName(given=raw[0], middle=raw[1], family=raw[2])
    if field == Field.ADDRESS:
        return Address(*raw)
    if field == Field.DATE_OF_BIRTH:
        return date.fromisoformat(raw)
    if field == Field.GENDER:
        return Gender(raw)
    if field == Field.CARERS:
        return tuple(Carer(*c) for c in raw)
    if field in (Field.EDUCATION, Field.GP):
        kind = EducationSetting if field == Field.EDUCATION else GPPractice
        return kind(raw[0], raw[1], date.fromisoformat(raw[2]) if raw[2] else None)
    return raw


def _aad(key: str) -> str:
    return f"records:amendment:{key}"


def _seal(cipher: ChildCipher, key: str, field: str, value: Any, reason: str) -> bytes:
    return cipher.seal(_aad(key), orjson.dumps({"v": _encode(field, value), "r": reason}))


@dataclass(frozen=True)
class Opened:
    """An amendment with its value and reason decrypted (in memory only)."""

    row: Amendment
    value: Any
    reason: str

    @property
    def key(self) -> str:
        return self.row.key


def open_amendment(cipher: ChildCipher, row: Amendment) -> Opened:
    raw = orjson.loads(cipher.open(_aad(row.key), bytes(row.payload)))
    return Opened(row, _decode(row.field, raw["v"]), raw["r"])


def in_force(child_id: int, cipher: ChildCipher) -> list[InForce]:
    """A child's active amendments as the best view takes them in (``bestview.build``)."""
    rows = Amendment.objects.filter(child_id=child_id, status=Status.ACTIVE).select_related("made_by") \
        .order_by("made_at", "pk")
    return [InForce(r.key, r.field, open_amendment(cipher, r).value, r.responsible_la, r.made_by.username,
                    (r.decided_at or r.made_at).date()) for r in rows]


def children_with_amendments(child_ids: list[int]) -> set[int]:
    """Which of these children have an amendment in force (few do: a feed batch asks once)."""
    return {child_id for (child_id,) in bulk.select_any(
        "SELECT DISTINCT child_id FROM records_amendment WHERE status = 'active' AND child_id {any}", child_ids)}


def retire(keys: frozenset[str] | set[str], *, keyring: KeyRing, now: datetime, actor: Actor | None = None) -> int:
    """Mark amendments a newer agreeing source value has made unnecessary; audited, one entry each."""
    if not keys:
        return 0
    done = 0
    for row in Amendment.objects.filter(key__in=sorted(keys), status=Status.ACTIVE).select_related("child"):
        row.status, row.ended_at = Status.RETIRED, now
        row.save(update_fields=["status", "ended_at"])
        record_event(AuditAction.AMENDMENT_RETIRED, actor=actor or Actor.system("best-view"), keyring=keyring,
                     at=now, subjects=[row.child.cpid], context={"field": row.field, "amendment": row.key})
        done += 1
    return done


# --- rebuilding the best view ----------------------------------------------------------------------------------


def held_records(child: Child, cipher: ChildCipher) -> list[Held]:
    """What each source holds about the child, opened, as the best view takes it in."""
    return [Held(r.source, r.source_kind, r.feed_run, r.received, r.record_key, open_payload(cipher, r))
            for r in SourceRecord.objects.filter(child=child, active=True).order_by("id")]


def rebuild(keyring: KeyRing, child: Child, cipher: ChildCipher, *, now: datetime) -> None:
    """Store the child's best view from what every source holds, practitioners' entries and the amendments in force;
    open or close discrepancy items; retire amendments a source now agrees with. The one rebuild after an
    amendment, a merge and a split."""
    held = held_records(child, cipher)
    if not held:
        # A record no source holds (made by hand, or left empty by a split): the amendments in force go onto it as
        # stored, and with none there is nothing to change. Withdrawing one leaves its value, as there is no
        # source's value to return to.
        amended = in_force(child.pk, cipher)
        if amended:
            record, _, _ = amend_record(load_record(keyring, child, cipher), [], amended)
            save_records(keyring, [(child, record, cipher)], now=now)
        return
    view = build(held, manual_entries(child, cipher), cpid=child.cpid, amendments=in_force(child.pk, cipher))
    save_records(keyring, [(child, view.record, cipher)], now=now)
    sync_discrepancies({child.pk: view.discrepancies}, now=now)
    retire(view.retired, keyring=keyring, now=now)


# --- acting ------------------------------------------------------------------------------------------------------


def may_amend(user: User, responsible_la: str) -> bool:
    """Whether ``user`` is a data manager of the local authority responsible for a child (for pages' links)."""
    return user.has(Permission.LA_RECORDS_CORRECT) and bool(user.organisation.la_code) \
        and user.organisation.la_code == responsible_la


def _require(user: User) -> None:
    if not user.has(Permission.LA_RECORDS_CORRECT):
        raise PermissionDenied("Your role does not include correcting records.")


def authority_child(user: User, cpid: str, *, lock: bool = False) -> Child:
    """The live child with this ContactPoint ID if the user's authority is responsible for them; anything else is
    the same ``NotFound`` (another authority's data manager cannot tell a record that exists from one that does
    not)."""
    _require(user)
    query = Child.objects.select_for_update() if lock else Child.objects
    child = query.filter(cpid=cpid).first()
    if child is None or child.status != ChildStatus.LIVE or not may_amend(user, child.responsible_la):
        raise NotFound(NOT_YOURS)
    return child


def amend(user: User, cpid: str, field: str, values: Mapping[str, str], reason: str, *, keyring: KeyRing,
          now: datetime) -> Amendment:
    """Correct or complete one value. An identifier (NHS number, UPN, ULN) waits for a second data manager's
    approval (``decide``); every other value takes effect at once."""
    _require(user)
    if field not in INPUTS:
        raise ValidationError("field", "this value cannot be changed here")
    value = check_value(field, values, now.date())
    reason = check_reason(reason)
    with transaction.atomic():
        child = authority_child(user, cpid, lock=True)
        if child.shielded and field in HIDDEN_WHEN_SHIELDED:
            # Shielding withholds whereabouts and identifiers from the record page, the team included; changing a
            # value the page cannot show would reveal it in the form and the confirmation.
            raise LifecycleError("This record is shielded: this value is withheld and cannot be changed here.")
        if Amendment.objects.filter(child=child, field=field, status=Status.PROPOSED).exists():
            raise LifecycleError("A change to this value is already awaiting approval. Approve or reject it first.")
        key = uuid.uuid4().hex
        cipher = cipher_for(keyring, child)
        four_eyes = field in FOUR_EYES
        row = Amendment.objects.create(
            key=key, child=child, field=field, status=Status.PROPOSED if four_eyes else Status.ACTIVE,
            responsible_la=child.responsible_la, made_by=user, made_at=now,
            payload=_seal(cipher, key, field, value, reason))
        record_event(AuditAction.AMENDMENT_PROPOSED if four_eyes else AuditAction.RECORD_AMENDED,
                     actor=user_actor(user), keyring=keyring, at=now, subjects=[cpid],
                     context={"field": field, "amendment": key})
        if not four_eyes:
            _take_effect(keyring, child, cipher, row, now=now)
    return row


def _take_effect(keyring: KeyRing, child: Child, cipher: ChildCipher, row: Amendment, *, now: datetime) -> None:
    """``row`` replaces any earlier amendment of the same value (and one a merge set aside); the best view is
    rebuilt with it."""
    Amendment.objects.filter(child=child, field=row.field, status__in=(Status.ACTIVE, Status.SET_ASIDE)) \
        .exclude(pk=row.pk).update(status=Status.REPLACED, ended_at=now)
    rebuild(keyring, child, cipher, now=now)


def _row(user: User, key: str) -> Amendment:
    row = Amendment.objects.select_related("child", "made_by", "decided_by").filter(key=key).first()
    if row is None or not may_amend(user, row.responsible_la) or row.child.responsible_la != row.responsible_la:
        raise NotFound(NO_SUCH)
    return row


def decide(user: User, key: str, *, approve: bool, keyring: KeyRing, now: datetime) -> Amendment:
    """A second data manager approves (the value takes effect) or rejects (nothing changes) a proposed NHS number,
    UPN or ULN. Four eyes: whoever proposed it cannot decide it."""
    _require(user)
    with transaction.atomic():
        row = _row(user, key)
        child = authority_child(user, row.child.cpid, lock=True)
        row = Amendment.objects.select_for_update().select_related("made_by").get(pk=row.pk)
        if row.status != Status.PROPOSED:
            raise LifecycleError("This change has already been decided.")
        if row.made_by_id == user.pk:
            raise LifecycleError("A second data manager must decide: you proposed this change.")
        row.status = Status.ACTIVE if approve else Status.REJECTED
        row.decided_by, row.decided_at = user, now
        row.save(update_fields=["status", "decided_by", "decided_at"])
        record_event(AuditAction.AMENDMENT_APPROVED if approve else AuditAction.AMENDMENT_REJECTED,
                     actor=user_actor(user), keyring=keyring, at=now, subjects=[child.cpid],
                     context={"field": row.field, "amendment": row.key, "proposed_by": row.made_by.username})
        if approve:
            _take_effect(keyring, child, cipher_for(keyring, child), row, now=now)
    return row


def withdraw(user: User, key: str, *, keyring: KeyRing, now: datetime) -> Amendment:
    """Withdraw an amendment in force (or a proposal awaiting approval): the sources' value returns. Withdrawing
    one a merge set aside closes it: the newer change stays."""
    _require(user)
    with transaction.atomic():
        row = _row(user, key)
        child = authority_child(user, row.child.cpid, lock=True)
        row = Amendment.objects.select_for_update().get(pk=row.pk)
        if row.status not in (Status.ACTIVE, Status.PROPOSED, Status.SET_ASIDE):
            raise LifecycleError("This change is no longer in effect.")
        was_active = row.status == Status.ACTIVE
        row.status, row.ended_at = Status.WITHDRAWN, now
        row.save(update_fields=["status", "ended_at"])
        record_event(AuditAction.AMENDMENT_WITHDRAWN, actor=user_actor(user), keyring=keyring, at=now,
                     subjects=[child.cpid], context={"field": row.field, "amendment": row.key})
        if was_active:
            rebuild(keyring, child, cipher_for(keyring, child), now=now)
    return row


# --- merges and splits -------------------------------------------------------------------------------------------

CARRIED = (Status.ACTIVE, Status.PROPOSED)


def _effective(row: Amendment) -> tuple[datetime, int]:
    return (row.decided_at or row.made_at, row.pk)


def carry_over(absorbed: Child, survivor: Child, absorbed_cipher: ChildCipher, survivor_cipher: ChildCipher, *,
               keyring: KeyRing, now: datetime, by: Actor) -> dict[str, list[str]]:
    """A merge: the absorbed child's amendments in force and proposals awaiting approval move to the survivor,
    re-sealed under its data key (ciphertexts are bound to their child). Where both children had a change of the
    same value in force, the newer (by when it took effect) applies and the older is ``set_aside``: shown to the
    data managers with the identifier changes awaiting approval, until one withdraws it (or changes the value
    again). Returns what a split needs to put them back (``carry_back``). The caller rebuilds the survivor."""
    moving = list(Amendment.objects.select_for_update().filter(child=absorbed, status__in=CARRIED).order_by("pk"))
    if not moving:
        return {}
    aside = []
    for row in moving:
        opened_row = open_amendment(absorbed_cipher, row)
        row.payload = _seal(survivor_cipher, row.key, row.field, opened_row.value, opened_row.reason)
        row.child = survivor
    Amendment.objects.bulk_update(moving, ["payload", "child"])
    active = [r for r in Amendment.objects.filter(child=survivor, status=Status.ACTIVE)]
    for field in sorted({r.field for r in active}):
        rows = sorted((r for r in active if r.field == field), key=_effective)
        for older in rows[:-1]:
            older.status, older.ended_at = Status.SET_ASIDE, now
            older.save(update_fields=["status", "ended_at"])
            aside.append(older.key)
            record_event(AuditAction.AMENDMENT_SET_ASIDE, actor=by, keyring=keyring, at=now,
                         subjects=[survivor.cpid], context={"field": field, "amendment": older.key,
                                                            "kept": rows[-1].key})
    record_event(AuditAction.AMENDMENTS_CARRIED, actor=by, keyring=keyring, at=now,
                 subjects=[absorbed.cpid, survivor.cpid],
                 context={"from": absorbed.cpid, "to": survivor.cpid, "amendments": [r.key for r in moving]})
    return {"amendments": [r.key for r in moving], "set_aside": aside}


def carry_back(before: Mapping[str, Any], survivor: Child, absorbed: Child, survivor_cipher: ChildCipher,
               absorbed_cipher: ChildCipher, *, keyring: KeyRing, now: datetime, by: Actor) -> bool:
    """A split of a merge: each amendment goes back to the child it was made on (those the merge moved, from
    ``carry_over``'s record), and one the merge set aside applies again if nobody has closed it since. Changes
    made on the merged record after the merge stay with the survivor. Returns whether anything moved or changed
    (the caller then rebuilds both children)."""
    keys, aside = before.get("amendments", []), before.get("set_aside", [])
    if not keys and not aside:
        return False
    back = list(Amendment.objects.select_for_update().filter(child=survivor, key__in=keys).order_by("pk"))
    for row in back:
        opened_row = open_amendment(survivor_cipher, row)
        row.payload = _seal(absorbed_cipher, row.key, row.field, opened_row.value, opened_row.reason)
        row.child = absorbed
    Amendment.objects.bulk_update(back, ["payload", "child"])
    Amendment.objects.filter(key__in=aside, status=Status.SET_ASIDE).update(status=Status.ACTIVE, ended_at=None)
    record_event(AuditAction.AMENDMENTS_CARRIED, actor=by, keyring=keyring, at=now,
                 subjects=[survivor.cpid, absorbed.cpid],
                 context={"from": survivor.cpid, "to": absorbed.cpid, "amendments": [r.key for r in back],
                          "split": True})
    return True


def set_aside(user: User) -> list[Amendment]:
    """The authority's changes a merge set aside (a newer one of the same value applies), oldest first."""
    _require(user)
    la = user.organisation.la_code
    if not la:
        return []
    return list(Amendment.objects.filter(responsible_la=la, status=Status.SET_ASIDE, child__status=ChildStatus.LIVE,
                                         child__responsible_la=la).select_related("child", "made_by")
                .order_by("ended_at", "pk"))


# --- reading -----------------------------------------------------------------------------------------------------


def in_effect(user: User, child: Child) -> dict[str, Amendment]:
    """The amendments in force or awaiting approval on a child, by field, without their values (for the record
    page's links); empty unless the user is a data manager of the responsible authority."""
    if not may_amend(user, child.responsible_la):
        return {}
    return {r.field: r for r in Amendment.objects.filter(child=child, status__in=(Status.ACTIVE, Status.PROPOSED))
            .order_by("made_at", "pk")}


def opened(user: User, key: str, *, keyring: KeyRing) -> Opened:
    row = _row(user, key)
    return open_amendment(cipher_for(keyring, row.child), row)


def awaiting_approval(user: User) -> list[Amendment]:
    """The authority's identifier changes awaiting a second data manager, oldest first (without their values)."""
    _require(user)
    la = user.organisation.la_code
    if not la:
        return []
    rows = Amendment.objects.filter(responsible_la=la, status=Status.PROPOSED, child__status=ChildStatus.LIVE,
                                    child__responsible_la=la).select_related("child", "made_by") \
        .order_by("made_at", "pk")
    return list(rows)


__all__ = ["CARERS", "CARER_INPUTS", "FOUR_EYES", "HIDDEN_WHEN_SHIELDED", "INPUTS", "NOT_YOURS", "REASON_MAX",
           "Field", "Opened", "Status", "amend", "authority_child", "awaiting_approval", "carry_back", "carry_over",
           "check_reason", "check_value", "children_with_amendments",
           "decide", "held_records", "in_effect", "in_force", "may_amend", "open_amendment", "opened", "rebuild",
           "retire", "set_aside", "withdraw"]
