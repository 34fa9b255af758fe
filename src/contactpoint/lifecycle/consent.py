"""Consent to stay on ContactPoint until 25 (regulation 4(2); seed, answer to question 231719): only care
leavers and young people with learning disabilities, only with their informed, explicit consent, recorded with
who gave it, when and how. It can be withdrawn at any time; the next daily run then archives the record if the
young person is 18 or over."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from django.db import transaction

from contactpoint.access.authentication import user_actor
from contactpoint.access.models import User
from contactpoint.access.roles import Permission
from contactpoint.audit.actions import AuditAction
from contactpoint.audit.trail import record_event
from contactpoint.children.models import Child
from contactpoint.children.store import cipher_for, load_groups
from contactpoint.dates import age_on, first_of_month
from contactpoint.errors import LifecycleError, ValidationError
from contactpoint.lifecycle.common import authority_child, new_key, require, seal, unseal
from contactpoint.lifecycle.models import StayConsent
from contactpoint.vault.keyring import KeyRing

YOUNGEST = 16  # consent is the young person's own: asked for as they prepare to leave care


class Basis(StrEnum):
    CARE_LEAVER = "care_leaver"
    LEARNING_DISABILITY = "learning_disability"


class Method(StrEnum):
    IN_PERSON = "in_person"
    IN_WRITING = "in_writing"
    WITH_ADVOCATE = "with_advocate"


BASIS_WORDS = {Basis.CARE_LEAVER: "Care leaver", Basis.LEARNING_DISABILITY: "Learning disability"}
METHOD_WORDS = {Method.IN_PERSON: "In person, recorded by the officer", Method.IN_WRITING: "In writing, signed",
                Method.WITH_ADVOCATE: "With the help of an advocate"}


@dataclass(frozen=True)
class Consent:
    basis: Basis
    given_by: str  # the young person's own words of who they are, or their name as they gave it
    given_on: date
    method: Method
    explained_by: str  # who explained what ContactPoint holds, who sees it and how to withdraw
    informed: bool  # the young person was told all of that, and that they may withdraw at any time


def active_consent(child: Child) -> StayConsent | None:
    return StayConsent.objects.filter(child=child, status=StayConsent.Status.ACTIVE).first()


def withdrawn_on(keyring: KeyRing, child: Child, cipher=None) -> date | None:
    """The latest date consent was withdrawn, if it ever was (the record stays live until then)."""
    latest: date | None = None
    for row in StayConsent.objects.filter(child=child, status=StayConsent.Status.WITHDRAWN):
        sealed = unseal(cipher or cipher_for(keyring, child), "consent-withdrawal", row.key, bytes(row.withdrawal))
        on = date.fromisoformat(sealed["on"])  # a withdrawal is always sealed with its date
        latest = on if latest is None or on > latest else latest
    return latest


def read(keyring: KeyRing, row: StayConsent) -> dict:
    return unseal(cipher_for(keyring, row.child), "consent", row.key, bytes(row.payload))


def record_consent(user: User, cpid: str, consent: Consent, *, keyring: KeyRing, now: datetime) -> StayConsent:
    require(user, Permission.LA_LIFECYCLE_MANAGE, "Your role does not include recording consent.")
    if not consent.informed:
        raise ValidationError("informed", "consent must be informed: confirm the young person was told what "
                                          "ContactPoint holds, who can see it and that they can withdraw at any time")
    given_by, explained_by = consent.given_by.strip(), consent.explained_by.strip()
    if not given_by:
        raise ValidationError("given_by", "enter who gave consent")
    if not explained_by:
        raise ValidationError("explained_by", "enter who explained it to them")
    if consent.given_on > now.date():
        raise ValidationError("given_on", "the date consent was given must be today or in the past")
    with transaction.atomic():
        child = authority_child(user, cpid, lock=True)
        if active_consent(child) is not None:
            raise LifecycleError("Consent to stay until 25 is already recorded for this young person.")
        cipher = cipher_for(keyring, child)
        dob = load_groups(keyring, child, ["birth"], cipher)["date_of_birth"].value
        age = age_on(dob, consent.given_on)
        if age < YOUNGEST or age >= 25:
            raise ValidationError("given_on", f"consent to stay until 25 is given between the ages of {YOUNGEST} "
                                              "and 25")
        key = new_key()
        row = StayConsent.objects.create(
            key=key, child=child, recorded_by=user, recorded_at=now,
            payload=seal(cipher, "consent", key, {
                "basis": consent.basis.value, "given_by": given_by, "given_on": consent.given_on,
                "method": consent.method.value, "explained_by": explained_by, "informed": True}))
        record_event(AuditAction.CONSENT_RECORDED, actor=user_actor(user), keyring=keyring, at=now,
                     subjects=[cpid], context={"consent": key})
    return row


def withdraw_consent(user: User, cpid: str, *, on: date, how: str, keyring: KeyRing, now: datetime) -> StayConsent:
    require(user, Permission.LA_LIFECYCLE_MANAGE, "Your role does not include recording consent.")
    how = (how or "").strip()
    if not how:
        raise ValidationError("how", "enter how the young person withdrew consent")
    if on > now.date():
        raise ValidationError("on", "the date consent was withdrawn must be today or in the past")
    with transaction.atomic():
        child = authority_child(user, cpid, lock=True)
        row = active_consent(child)
        if row is None:
            raise LifecycleError("There is no consent to withdraw for this young person.")
        row.status = StayConsent.Status.WITHDRAWN
        row.withdrawn_by, row.withdrawn_at = user, now
        row.withdrawal = seal(cipher_for(keyring, child), "consent-withdrawal", row.key, {"on": on, "how": how})
        row.save(update_fields=["status", "withdrawn_by", "withdrawn_at", "withdrawal"])
        # The next run looks at the record at once: from 18, it is archived.
        Child.objects.filter(pk=child.pk).update(review_month=first_of_month(now.date()))
        record_event(AuditAction.CONSENT_WITHDRAWN, actor=user_actor(user), keyring=keyring, at=now,
                     subjects=[cpid], context={"consent": row.key})
    return row
