"""Involvements practitioners record themselves (issue 4: "Practitioners can record their own involvement, end
it, say they are lead professional or that a CAF exists"; issue 6: sensitive services).

A practitioner who has opened a child's record (the audit trail shows the view) records their service, their
role and how to reach them, from a start date; later changes it, ends it, says they are the lead professional
or that they hold a Common Assessment (CAF: a flag and who holds it, never the assessment, Children Act 2004
s.12). Each entry is sealed with the child's data key and bound to its key, like every other value; the child's
stored best view is refreshed at once so that the involvement is on the record the next time anyone opens it.

Rules, each enforced here rather than in a page:
- only the practitioner who recorded an entry, or an administrator of their organisation, may change or end it
  (a colleague who leaves must not strand an involvement that says "call me");
- a child has one current lead professional: taking the lead from someone else needs the practitioner's
  confirmation (``LeadNeedsConfirmation``), and both the taking and the losing entry are audited;
- a sensitive service (sexual health, mental health, substance misuse) is recorded only with the young person's
  consent (who consented, when, how) or on the ground that significant harm is suspected (who decided, why)
  (DESIGN.md section 1); withdrawing consent removes the entry altogether;
- a shielded child's involvement may still be recorded: the child is known to the practitioner already, the
  entry adds nothing anyone else can see (practitioners are withheld on a shielded record), and the local
  authority needs it to broker contact.

What the lead professional question may say (issue 19). It is built only from what the user already sees on the
record, so whether and how they are asked says nothing more:
- on a shielded record the practitioners are withheld: ``SHIELDED_LEAD_QUESTION`` is always asked;
- a lead the user can see is named ("Sam Okafor, Social worker (Children's social care) is recorded as ...");
- otherwise, when the record shows the user "a service is involved" (a current sensitive service they may not
  see: someone else's, and they are not on the responsible authority's ContactPoint team), they are always asked
  ``WITHHELD_LEAD_QUESTION``, whether or not that service is the lead: the record already tells them such a
  service is involved, never whether it leads. Confirming replaces whoever leads, as anywhere else;
- the local authority's team, who see sensitive services, and a practitioner about their own entry are told
  who the lead is, sensitive or not.
The record shows each user the one lead among what they see (``records.view``), so the page agrees with the
question: a withheld lead is neither named nor seen to take the flag from a lead the user sees.

Every change writes its audit entry in the same transaction (fail closed).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any, Protocol

import orjson
from django.db import transaction
from django.db.models import Q

from contactpoint.access.authentication import user_actor
from contactpoint.access.models import User
from contactpoint.access.roles import Permission
from contactpoint.audit.actions import AuditAction
from contactpoint.audit.models import AuditEntry
from contactpoint.audit.trail import record_event
from contactpoint.bestview.build import Manual
from contactpoint.children.models import Child, ChildStatus
from contactpoint.children.record import Involvement, Provenance, SensitiveBasis, SensitiveCategory, Sourced
from contactpoint.children.source_records import involvement_from_json, involvement_to_json
from contactpoint.children.store import cipher_for, load_record, save_records
from contactpoint.errors import LeadNeedsConfirmation, NotFound, PermissionDenied, ValidationError, VaultError
from contactpoint.records.models import PractitionerInvolvement
from contactpoint.records.notifications import notify_new_involvement
from contactpoint.vault.cipher import ChildCipher
from contactpoint.vault.keyring import KeyRing

MANUAL_FEED = "manual"  # the provenance ``feed`` of a practitioner's own entry (see bestview.build)
ROLE_MAX = 100
TEXT_MAX = 500

# Services a practitioner can say they provide. The sensitive ones map to their Schedule 1 category.
SERVICES: tuple[tuple[str, str], ...] = (
    ("social_care", "Children's social care"),
    ("early_help", "Early help and family support"),
    ("health_visiting", "Health visiting"),
    ("school_nursing", "School nursing"),
    ("community_health", "Community or hospital health services"),
    ("education", "Education (school or college)"),
    ("education_welfare", "Education welfare and attendance"),
    ("sen", "Special educational needs"),
    ("youth_support", "Youth support"),
    ("youth_justice", "Youth offending team"),
    ("police", "Police"),
    ("probation", "Probation"),
    ("voluntary", "Voluntary or community organisation"),
    ("other", "Another service"),
    ("sexual_health", "Sexual health service"),
    ("mental_health", "Mental health service"),
    ("substance_misuse", "Substance misuse service"),
)
SERVICE_LABELS = dict(SERVICES)
SENSITIVE_SERVICES = {"sexual_health": SensitiveCategory.SEXUAL_HEALTH,
                      "mental_health": SensitiveCategory.MENTAL_HEALTH,
                      "substance_misuse": SensitiveCategory.SUBSTANCE_MISUSE}
CONSENT_HOW = (("in_person", "In person"), ("in_writing", "In writing"), ("phone_or_video", "By phone or video"))

_PHONE = re.compile(r"^\+?[0-9][0-9 ()-]{6,24}$")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")


# --- what a practitioner enters ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SensitiveGround:
    """Why a sensitive service may be recorded: the young person's consent, or suspected significant harm."""

    basis: SensitiveBasis
    by: str  # who consented, or who decided that significant harm is suspected
    on: date  # when consent was given, or the decision made
    how: str = ""  # how consent was given (a CONSENT_HOW code)
    why: str = ""  # why significant harm is suspected

    def to_json(self) -> dict[str, Any]:
        return {"b": self.basis.value, "by": self.by, "on": self.on.isoformat(), "how": self.how, "why": self.why}

    @classmethod
    def from_json(cls, raw: dict[str, Any] | None) -> SensitiveGround | None:
        if raw is None:
            return None
        return cls(SensitiveBasis(raw["b"]), raw["by"], date.fromisoformat(raw["on"]), raw["how"], raw["why"])


@dataclass(frozen=True)
class Details:
    """What the practitioner says about their involvement (their name and organisation come from their account)."""

    service: str  # a SERVICES code
    role: str
    phone: str
    email: str
    start_date: date | None
    lead_professional: bool = False
    caf_completed: bool = False
    ground: SensitiveGround | None = None

    @property
    def sensitive(self) -> SensitiveCategory | None:
        return SENSITIVE_SERVICES.get(self.service)


@dataclass(frozen=True, slots=True)
class RecordedInvolvement(Involvement):
    """An involvement as its practitioner recorded it: the Schedule 1 item plus their role and, for a sensitive
    service, the ground for recording it. An ``Involvement``, so that code moving entries between children
    (a merge re-seals them) carries all of it without knowing about it."""

    role: str = ""
    ground: SensitiveGround | None = None
    service_code: str = ""
    org_code: str = ""  # the recording practitioner's organisation; sealed, never in a clear column

    def shown(self) -> Involvement:
        """The Schedule 1 item as the record shows it: the role beside the practitioner's name."""
        name = f"{self.practitioner_name}, {self.role}" if self.role else self.practitioner_name
        return Involvement(self.key, self.service, self.organisation, name, self.practitioner_phone,
                           self.practitioner_email, self.start_date, self.end_date, self.lead_professional,
                           self.caf_completed, self.sensitive, self.sensitive_basis, self.basis_decided_by)


def _clean(value: str | None) -> str:
    return " ".join((value or "").split())


def validate(details: Details, *, today: date, born: date | None = None) -> Details:
    """``details`` tidied, or a ``ValidationError`` naming the field and what to do. Messages never repeat what
    was typed (they reach logs)."""
    if details.service not in SERVICE_LABELS:
        raise ValidationError("service", "choose the service you work for")
    role = _clean(details.role)
    if not role:
        raise ValidationError("role", "enter your role, for example health visitor")
    if len(role) > ROLE_MAX:
        raise ValidationError("role", f"role must be {ROLE_MAX} characters or fewer")
    phone, email = _clean(details.phone), _clean(details.email).lower()
    if not phone and not email:
        raise ValidationError("phone", "enter a phone number or an email address so that others can reach you")
    if phone and not _PHONE.match(phone):
        raise ValidationError("phone", "enter a phone number, like 020 7946 0000 or +44 20 7946 0000")
    if email and (len(email) > 254 or not _EMAIL.match(email)):
        raise ValidationError("email", "enter an email address in the correct format, like name@example.gov.uk")
    if details.start_date is None:
        raise ValidationError("start_date", "enter the date your involvement started")
    if details.start_date > today:
        raise ValidationError("start_date", "the date your involvement started must be today or in the past")
    if born is not None and details.start_date < born:
        raise ValidationError("start_date", "the date your involvement started must be on or after the child's "
                                            "date of birth")
    ground = details.ground
    if details.sensitive is None:
        ground = None  # nothing to justify: a ground left over from a changed choice is dropped, not stored
    elif ground is not None:
        ground = _validate_ground(ground, today=today)
    return replace(details, role=role, phone=phone, email=email, ground=ground)


def _validate_ground(ground: SensitiveGround, *, today: date) -> SensitiveGround:
    by = _clean(ground.by)
    if ground.basis == SensitiveBasis.CONSENT:
        if not by:
            raise ValidationError("consent_by", "enter who gave consent")
        if ground.how not in dict(CONSENT_HOW):
            raise ValidationError("consent_how", "choose how consent was given")
        if ground.on > today:
            raise ValidationError("consent_on", "the date consent was given must be today or in the past")
        return SensitiveGround(ground.basis, by[:ROLE_MAX], ground.on, ground.how)
    if not by:
        raise ValidationError("harm_by", "enter who decided that significant harm is suspected")
    why = (ground.why or "").strip()
    if not why:
        raise ValidationError("harm_why", "say why significant harm is suspected")
    if len(why) > TEXT_MAX:
        raise ValidationError("harm_why", f"the reason must be {TEXT_MAX} characters or fewer")
    if ground.on > today:
        raise ValidationError("harm_on", "the date of the decision must be today or in the past")
    return SensitiveGround(ground.basis, by[:ROLE_MAX], ground.on, why=why)


# --- sealing ------------------------------------------------------------------------------------------------------


def _field(key: str) -> str:
    return f"involvement:{key}"


def seal_involvement(cipher: ChildCipher, entry_key: str, involvement: Involvement) -> bytes:
    """The entry's payload: a JSON object since practitioners record roles and grounds; a bare list before."""
    body: Any = involvement_to_json(involvement)
    if isinstance(involvement, RecordedInvolvement):
        body = {"i": body, "r": involvement.role, "sc": involvement.service_code,
                "g": involvement.ground.to_json() if involvement.ground else None, "oc": involvement.org_code}
    return cipher.seal(_field(entry_key), orjson.dumps(body))


def open_involvement(cipher: ChildCipher, entry: PractitionerInvolvement) -> RecordedInvolvement:
    raw = orjson.loads(cipher.open(_field(entry.key), bytes(entry.payload)))
    if isinstance(raw, list):
        raw = {"i": raw, "r": "", "sc": "", "g": None}
    base = involvement_from_json(raw["i"])
    # An entry from before the organisation was sealed has it in the old clear column until
    # ``seal_involvement_organisations`` has run (records/migrations/0006).
    return RecordedInvolvement(**{f: getattr(base, f) for f in Involvement.__dataclass_fields__},
                               role=raw["r"], ground=SensitiveGround.from_json(raw["g"]), service_code=raw["sc"],
                               org_code=raw.get("oc") or entry.organisation)


ORG_INDEX = "involvement-organisation"


def org_token(keyring: Any, org_code: str) -> str:
    """The keyed hash of an organisation's code stored with its entries (``index_key`` is all it needs). One key
    for every child, so that an organisation's entries are found with one query; it says no more than the
    entry's practitioner already does, and the hash cannot be reversed without the key ring."""
    return hmac.new(keyring.index_key(ORG_INDEX), org_code.encode(), hashlib.sha256).hexdigest()


def org_tokens(keyring: Any, org_codes: Any) -> dict[str, str]:
    """Each organisation's keyed hash, mapped to its code."""
    return {org_token(keyring, c): c for c in org_codes}


def of_organisation(tokens: dict[str, str]) -> Q:
    """Entries recorded by these organisations' practitioners (``org_tokens``; old entries by their clear column,
    until ``seal_organisations`` has run)."""
    return Q(org_token__in=list(tokens)) | Q(organisation__in=list(tokens.values()), org_token="")


def organisation_of(tokens: dict[str, str], entry: PractitionerInvolvement) -> str | None:
    """Which of the organisations in ``tokens`` recorded ``entry``, if any."""
    if entry.org_token:
        return tokens.get(entry.org_token)
    return entry.organisation if entry.organisation in tokens.values() else None


class _Keyed(Protocol):
    """A child as ``manual_entries`` needs it: a model or a batch's ``ChildRow``."""

    @property
    def pk(self) -> int: ...


def manual_entries(child: _Keyed, cipher: ChildCipher) -> list[Manual]:
    """Practitioners' entries as the best view takes them in (bestview.build)."""
    out = []
    for e in PractitionerInvolvement.objects.filter(child_id=child.pk).order_by("created_at", "id"):
        opened = open_involvement(cipher, e)
        out.append(Manual(opened.shown(), opened.org_code, e.updated_at.date()))
    return out


# --- reading ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One of a practitioner's own entries, opened for them."""

    key: str
    cpid: str
    recorded_by: str  # the practitioner's full name
    involvement: RecordedInvolvement

    @property
    def current(self) -> bool:
        return self.involvement.end_date is None


def own_entries(user: User, child: Child, keyring: KeyRing, cipher: ChildCipher | None = None) -> list[Entry]:
    """The entries ``user`` may manage on this child: their own (an organisation administrator: their
    organisation's). Readable even when the child is shielded: they say nothing the practitioner did not enter."""
    entries = PractitionerInvolvement.objects.filter(child=child).select_related("user").order_by("created_at", "id")
    if user.has(Permission.ORG_USERS_MANAGE):
        entries = entries.filter(of_organisation(org_tokens(keyring, [user.organisation.code])))
    else:
        entries = entries.filter(user=user)
    found = list(entries)
    if not found:
        return []
    cipher = cipher or cipher_for(keyring, child)
    return [Entry(e.key, child.cpid, e.user.full_name, open_involvement(cipher, e)) for e in found]


def current_entries(user: User, *, keyring: KeyRing, today: date) -> list[Entry]:
    """The practitioner's own current involvements with live children, for their home page (issue 18). Only what
    they entered themselves is opened (by ContactPoint ID, no child data): the child's record is still opened with
    a stated reason, through ``view_record``."""
    found = []
    entries = PractitionerInvolvement.objects.filter(user=user, child__status=ChildStatus.LIVE) \
        .select_related("child").order_by("created_at", "id")
    for e in entries:
        involvement = open_involvement(cipher_for(keyring, e.child), e)
        if involvement.end_date is None or involvement.end_date >= today:
            found.append(Entry(e.key, e.child.cpid, user.full_name, involvement))
    return found


def has_viewed(user: User, cpid: str) -> bool:
    """Whether the audit trail shows ``user`` opening this child's record. Recording an involvement with a child
    one has never looked up would let anyone claim an involvement (and silence the out-of-area alert)."""
    return AuditEntry.objects.filter(action=AuditAction.RECORD_VIEWED, actor=user.username, subjects=[cpid],
                                     outcome="success").exists()


# --- changing ---------------------------------------------------------------------------------------------------


def _child(cpid: str, *, lock: bool = False) -> Child:
    query = Child.objects.select_for_update() if lock else Child.objects
    child = query.filter(cpid=cpid).first()
    if child is None or child.status != ChildStatus.LIVE:
        raise NotFound("There is no child with that ContactPoint ID that you can see.")
    return child


def _entry(key: str, *, lock: bool = False) -> PractitionerInvolvement:
    query = PractitionerInvolvement.objects.select_for_update() if lock else PractitionerInvolvement.objects
    entry = query.select_related("child", "user").filter(key=key).first()
    if entry is None or entry.child.status != ChildStatus.LIVE:
        raise NotFound("There is no such involvement that you can change.")
    return entry


def may_manage(user: User, entry: PractitionerInvolvement, keyring: Any) -> bool:
    if entry.user_id == user.pk:
        return user.has(Permission.CHILD_INVOLVEMENT)
    return user.has(Permission.ORG_USERS_MANAGE) \
        and organisation_of(org_tokens(keyring, [user.organisation.code]), entry) is not None


def _require_manage(user: User, entry: PractitionerInvolvement, keyring: Any) -> None:
    if not may_manage(user, entry, keyring):
        raise PermissionDenied("Only the practitioner who recorded this involvement, or an administrator of "
                               "their organisation, can change it.")


def _context(involvement: Involvement, **extra: Any) -> dict[str, Any]:
    # In clear: which kind of service and flags, never names or contact details. A sensitive entry records only
    # that it is sensitive, not which kind (the category is for the local authority team, in the entry itself).
    out: dict[str, Any] = {
        "service": "sensitive" if involvement.sensitive else getattr(involvement, "service_code", "") or "",
        "lead_professional": involvement.lead_professional, "caf": involvement.caf_completed,
    }
    if involvement.sensitive:
        out["basis"] = involvement.sensitive_basis.value if involvement.sensitive_basis else ""
    out.update(extra)
    return out


def _build(user: User, key: str, details: Details, *, end_date: date | None = None) -> RecordedInvolvement:
    ground = details.ground
    return RecordedInvolvement(
        key=key, service=SERVICE_LABELS[details.service], organisation=user.organisation.name,
        practitioner_name=user.full_name, practitioner_phone=details.phone, practitioner_email=details.email,
        start_date=details.start_date, end_date=end_date, lead_professional=details.lead_professional,
        caf_completed=details.caf_completed, sensitive=details.sensitive,
        sensitive_basis=ground.basis if ground else None, basis_decided_by=ground.by if ground else "",
        role=details.role, ground=ground, service_code=details.service, org_code=user.organisation.code)


@dataclass(frozen=True)
class _LeadSight:
    """The current leads, split by whether ``user`` may see them, and whether the record shows ``user`` that a
    service they may not see is involved (records.view's "a service is involved", by the same rule)."""

    visible: list[Sourced[Involvement]]
    hidden: list[Sourced[Involvement]]
    withheld_involved: bool


def _lead_sight(child: Child, user: User, keyring: KeyRing, cipher: ChildCipher, *, today: date,
                excluding: str) -> _LeadSight:
    record = load_record(keyring, child, cipher)
    sees_sensitive = la_team_for(user, child)
    own = set(PractitionerInvolvement.objects.filter(child=child, user=user).values_list("key", flat=True))

    def withheld(item: Sourced[Involvement]) -> bool:
        return item.value.sensitive is not None and not sees_sensitive and item.value.key not in own

    current = [i for i in record.involvements if i.value.active_on(today) and i.value.key != excluding]
    leads = [i for i in current if i.value.lead_professional]
    return _LeadSight([i for i in leads if not withheld(i)], [i for i in leads if withheld(i)],
                      any(withheld(i) for i in current))


# On a shielded child the practitioners are withheld, so whether anyone else is the lead must not show either:
# the question is always asked, in these words, whether or not someone is, and its answer is handled the same.
SHIELDED_LEAD_QUESTION = ("This record is shielded, so ContactPoint cannot tell you whether another practitioner "
                          "is recorded as the lead professional. If one is, you will replace them. Confirm that you "
                          "are taking over as lead professional.")


# A sensitive service the user may not see is involved (the record says so): whether it is the lead must not show.
# Asked in these words whenever such a service is involved and no lead the user can see is, lead or not.
WITHHELD_LEAD_QUESTION = ("A service whose details you cannot see is involved with this child, so ContactPoint "
                          "cannot tell you whether it is recorded as the lead professional. If it is, you will "
                          "replace it. Confirm that you are taking over as lead professional.")
NEUTRAL_LEAD_QUESTIONS = (SHIELDED_LEAD_QUESTION, WITHHELD_LEAD_QUESTION)


def _lead_holder(child: Child, user: User, leads: Sequence[Sourced[Involvement]]) -> str:
    # Only leads the user may see reach here (``_lead_question``); a shielded record names no one at all.
    lead = leads[0].value
    if child.shielded:
        return ""
    return f"{lead.practitioner_name or 'A practitioner'} ({lead.service})"


def _lead_question(child: Child, user: User, sight: _LeadSight) -> str | None:
    """What ``user`` is asked before taking the lead (``None``: nothing), from what they see alone (module doc)."""
    if child.shielded:
        return SHIELDED_LEAD_QUESTION
    if sight.visible:
        return LeadNeedsConfirmation(_lead_holder(child, user, sight.visible)).message
    if sight.withheld_involved:
        return WITHHELD_LEAD_QUESTION
    return None


def _take_lead(user: User, child: Child, cipher: ChildCipher, keyring: KeyRing, *, key: str, now: datetime,
               take_lead: bool) -> list[str]:
    """Check (and, once confirmed, take) the lead. Returns the keys of the entries that lost it."""
    sight = _lead_sight(child, user, keyring, cipher, today=now.date(), excluding=key)
    leads = sight.visible + sight.hidden
    if not take_lead:
        question = _lead_question(child, user, sight)
        if question is not None:
            raise LeadNeedsConfirmation("", message=question)
    if not leads:
        return []
    lost = []
    for other in PractitionerInvolvement.objects.select_related("user").filter(
            child=child, key__in=[lead.value.key for lead in leads]):
        held = open_involvement(cipher, other)
        other.payload = seal_involvement(cipher, other.key, replace(held, lead_professional=False))
        other.updated_at = now
        other.save(update_fields=["payload", "updated_at"])
        record_event(AuditAction.INVOLVEMENT_CHANGED, actor=user_actor(user), keyring=keyring, at=now,
                     subjects=[child.cpid],
                     target_user=other.user.username,
                     context=_context(replace(held, lead_professional=False), entry=other.key, lead_taken=True))
        lost.append(other.key)
    # A lead a source system reported stays in its feed; the record view shows the practitioner who confirmed
    # taking over as the one lead professional (records.view), and the audit entry says whose lead was displaced.
    lost.extend(lead.value.key for lead in leads if lead.provenance.feed != MANUAL_FEED)
    return lost


def _took_lead(child: Child, context: dict[str, Any], lost: list[str]) -> dict[str, Any]:
    """The taker's audit entry: whose lead they took, in clear; on a shielded child in the entry's sealed detail
    (which only auditors open), always present, so that what the entry shows is the same whether or not anyone
    lost the lead."""
    if child.shielded:
        return {"context": {**context, "lead_on_shielded_record": True}, "detail": {"took_lead_from": lost}}
    return {"context": {**context, "took_lead_from": lost}}


def _refresh(keyring: KeyRing, child: Child, cipher: ChildCipher, *, now: datetime) -> None:
    """Store the child's record with the practitioners' entries as they are now. Only the involvements change:
    what sources sent stays as the last best view built it, and the manual entries are put back in the form
    ``bestview.build`` gives them, so a later feed rebuild produces the same record."""
    record = load_record(keyring, child, cipher)
    from_sources = tuple(i for i in record.involvements if i.provenance.feed != MANUAL_FEED)
    manual = tuple(Sourced(m.involvement, Provenance(f"practitioner:{m.organisation}", MANUAL_FEED, m.recorded))
                   for m in manual_entries(child, cipher))
    save_records(keyring, [(child, replace(record, involvements=from_sources + manual), cipher)], now=now)


def _born(keyring: KeyRing, child: Child, cipher: ChildCipher) -> date | None:
    record = load_record(keyring, child, cipher)
    return record.date_of_birth.value if record.date_of_birth else None


def _check_ground(details: Details) -> None:
    if details.sensitive is not None and details.ground is None:
        raise ValidationError("ground", "a sensitive service can be recorded only with the young person's consent "
                                        "or where significant harm is suspected: record which")


def record_involvement(user: User, cpid: str, details: Details, *, keyring: KeyRing, now: datetime,
                       take_lead: bool = False) -> str:
    """Record ``user``'s involvement with a child whose record they have opened. Returns the entry's key."""
    if not user.has(Permission.CHILD_INVOLVEMENT):
        raise PermissionDenied("Your role does not include recording involvement with children.")
    with transaction.atomic():
        child = _child(cpid, lock=True)
        if not has_viewed(user, cpid):
            raise PermissionDenied("Open the child's record before recording your involvement.")
        cipher = cipher_for(keyring, child)
        details = validate(details, today=now.date(), born=_born(keyring, child, cipher))
        _check_ground(details)
        for mine in PractitionerInvolvement.objects.filter(child=child, user=user):
            held = open_involvement(cipher, mine)
            if held.end_date is None and held.service_code == details.service:
                raise ValidationError("service", "you have already recorded your involvement with this service: "
                                                 "change it instead")
        key = secrets.token_hex(12)
        lost = _take_lead(user, child, cipher, keyring, key=key, now=now, take_lead=take_lead) \
            if details.lead_professional else []
        involvement = _build(user, key, details)
        PractitionerInvolvement.objects.create(
            child=child, key=key, user=user, org_token=org_token(keyring, user.organisation.code),
            payload=seal_involvement(cipher, key, involvement), created_at=now, updated_at=now)
        _refresh(keyring, child, cipher, now=now)
        record_event(AuditAction.INVOLVEMENT_RECORDED, actor=user_actor(user), keyring=keyring, at=now, subjects=[cpid],
                     **_took_lead(child, _context(involvement, entry=key), lost))
        others = [(e.user, open_involvement(cipher, e)) for e in
                  PractitionerInvolvement.objects.filter(child=child).exclude(user=user).select_related("user")]
        notify_new_involvement(user, child, involvement, others, keyring=keyring, now=now)
    return key


def change_involvement(user: User, key: str, details: Details, *, keyring: KeyRing, now: datetime,
                       take_lead: bool = False) -> None:
    """Change an entry: service, role, contact details, start date, lead professional, CAF, ground."""
    with transaction.atomic():
        entry = _entry(key, lock=True)
        _require_manage(user, entry, keyring)
        child = _child(entry.child.cpid, lock=True)
        cipher = cipher_for(keyring, child)
        held = open_involvement(cipher, entry)
        if details.ground is None and details.sensitive is not None and details.sensitive == held.sensitive:
            details = replace(details, ground=held.ground)  # the ground already given still stands
        details = validate(details, today=now.date(), born=_born(keyring, child, cipher))
        _check_ground(details)
        assert details.start_date is not None  # validate refuses details without one
        if held.end_date is not None and held.end_date < details.start_date:
            raise ValidationError("start_date", "the start date must be on or before the date the involvement ended")
        # On a shielded record a practitioner who is already lead is not asked again (whether or not anyone else is).
        lost = _take_lead(user, child, cipher, keyring, key=key, now=now,
                          take_lead=take_lead or (child.shielded and held.lead_professional)) \
            if details.lead_professional and held.active_on(now.date()) else []
        # The entry keeps its practitioner: an administrator correcting it does not become the practitioner.
        changed = replace(_build(entry.user, key, details, end_date=held.end_date),
                          organisation=held.organisation or entry.user.organisation.name,
                          org_code=held.org_code or entry.user.organisation.code)
        entry.payload = seal_involvement(cipher, key, changed)
        entry.updated_at = now
        entry.save(update_fields=["payload", "updated_at"])
        _refresh(keyring, child, cipher, now=now)
        record_event(AuditAction.INVOLVEMENT_CHANGED, actor=user_actor(user), keyring=keyring, at=now,
                     subjects=[child.cpid], target_user=entry.user.username,
                     **_took_lead(child, _context(changed, entry=key), lost))


def end_involvement(user: User, key: str, end_date: date | None, *, keyring: KeyRing, now: datetime) -> None:
    """End an entry on ``end_date``. It stays on the record, with its dates, as a service that was involved."""
    if end_date is None:
        raise ValidationError("end_date", "enter the date your involvement ended")
    if end_date > now.date():
        raise ValidationError("end_date", "the date your involvement ended must be today or in the past")
    with transaction.atomic():
        entry = _entry(key, lock=True)
        _require_manage(user, entry, keyring)
        child = _child(entry.child.cpid, lock=True)
        cipher = cipher_for(keyring, child)
        held = open_involvement(cipher, entry)
        if held.start_date and end_date < held.start_date:
            raise ValidationError("end_date", "the date your involvement ended must be on or after the date it "
                                              "started")
        ended = replace(held, end_date=end_date)
        entry.payload = seal_involvement(cipher, key, ended)
        entry.updated_at = now
        entry.save(update_fields=["payload", "updated_at"])
        _refresh(keyring, child, cipher, now=now)
        record_event(AuditAction.INVOLVEMENT_ENDED, actor=user_actor(user), keyring=keyring, at=now,
                     subjects=[child.cpid],
                     target_user=entry.user.username, context=_context(ended, entry=key))


def withdraw_consent(user: User, key: str, *, keyring: KeyRing, now: datetime) -> None:
    """The young person has withdrawn consent: the sensitive service is removed from their record altogether,
    not merely ended. The practitioner, their organisation's administrator, or the responsible local
    authority's ContactPoint team (who may hear of it first) can record the withdrawal."""
    with transaction.atomic():
        entry = _entry(key, lock=True)
        child = _child(entry.child.cpid, lock=True)
        if not la_team_for(user, child):
            _require_manage(user, entry, keyring)
        cipher = cipher_for(keyring, child)
        held = open_involvement(cipher, entry)
        if held.sensitive is None or held.sensitive_basis != SensitiveBasis.CONSENT:
            raise ValidationError("consent", "this involvement was not recorded with the young person's consent: "
                                             "end it instead")
        entry.delete()
        _refresh(keyring, child, cipher, now=now)
        record_event(AuditAction.INVOLVEMENT_CONSENT_WITHDRAWN, actor=user_actor(user), keyring=keyring, at=now,
                     subjects=[child.cpid], target_user=entry.user.username,
                     context={"entry": key, "service": "sensitive"})


def entry_for(user: User, key: str, *, keyring: KeyRing) -> Entry:
    """One entry, opened for someone who may manage it (for the change and end pages)."""
    entry = _entry(key)
    _require_manage(user, entry, keyring)
    cipher = cipher_for(keyring, entry.child)
    return Entry(entry.key, entry.child.cpid, entry.user.full_name, open_involvement(cipher, entry))


def la_team_for(user: User, child: Child) -> bool:
    """Whether ``user`` is on the ContactPoint team of the child's responsible local authority."""
    return on_la_team(user, child.responsible_la)


def on_la_team(user: User, responsible_la: str) -> bool:
    """Whether ``user`` is on the ContactPoint team of the local authority with this code."""
    return user.has(Permission.LA_SENSITIVE_MANAGE) and bool(user.organisation.la_code) \
        and user.organisation.la_code == responsible_la


def consented_entry_for_la(user: User, key: str, *, keyring: KeyRing) -> Entry:
    """A practitioner's sensitive entry recorded with consent, opened for the responsible local authority's team
    (to record that the young person withdrew consent)."""
    entry = _entry(key)
    if not la_team_for(user, entry.child):
        raise NotFound("There is no such involvement that you can change.")
    held = open_involvement(cipher_for(keyring, entry.child), entry)
    if held.sensitive is None or held.sensitive_basis != SensitiveBasis.CONSENT:
        raise NotFound("There is no such involvement that you can change.")
    return Entry(entry.key, entry.child.cpid, entry.user.full_name, held)


def lead_conflict(user: User, cpid: str, key: str | None, *, keyring: KeyRing, today: date) -> str | None:
    """What to ask before ``user`` becomes lead professional (``None`` when no one else is the current lead).
    Pages ask this before anything else, so that what a practitioner enters about consent or harm never has to
    wait in their session for the answer."""
    child = _child(cpid)
    if key is None:
        if not user.has(Permission.CHILD_INVOLVEMENT) or not has_viewed(user, cpid):
            raise PermissionDenied("Open the child's record before recording your involvement.")
        excluding = ""
    else:
        entry = _entry(key)
        _require_manage(user, entry, keyring)
        if entry.child_id != child.pk:
            raise NotFound("There is no such involvement that you can change.")
        cipher = cipher_for(keyring, child)
        mine = open_involvement(cipher, entry)
        if not mine.active_on(today):
            return None  # an ended involvement does not take the lead (change_involvement agrees)
        if child.shielded and mine.lead_professional:
            return None  # already the lead: not asked again (change_involvement agrees)
        excluding = key
    if child.shielded:
        return SHIELDED_LEAD_QUESTION  # asked whether or not anyone is lead: the answer would say who is involved
    cipher = cipher_for(keyring, child)
    return _lead_question(child, user, _lead_sight(child, user, keyring, cipher, today=today, excluding=excluding))


def seal_organisations(keyring: KeyRing, *, batch: int = 500) -> int:
    """Seal the organisation of entries recorded before it was sealed (records/migrations/0006): put it in the
    payload, store its keyed hash, empty the clear column. Each batch commits on its own, so a run that stops
    carries on where it left off; an entry already sealed is not touched. Returns how many were sealed.

    An entry whose child's data key is gone (an erased record) cannot be re-sealed: its clear column is emptied
    all the same, since nothing can read the entry any more."""
    sealed = 0
    while True:
        with transaction.atomic():
            entries = list(PractitionerInvolvement.objects.select_for_update().select_related("child")
                           .exclude(organisation="").order_by("id")[:batch])
            if not entries:
                return sealed
            for entry in entries:
                code = entry.organisation
                try:
                    cipher = cipher_for(keyring, entry.child)
                except VaultError:
                    cipher = None
                if cipher is not None:
                    entry.payload = seal_involvement(cipher, entry.key, open_involvement(cipher, entry))
                entry.org_token = org_token(keyring, code)
                entry.organisation = ""
            PractitionerInvolvement.objects.bulk_update(entries, ["payload", "org_token", "organisation"])
            sealed += len(entries)
