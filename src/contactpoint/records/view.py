"""Opening a child's record (DESIGN.md section 1 "Search and view", "Shielding").

``view_record`` decides what the user may see and writes the view to the audit trail with its reason before
anything is returned. A shielded child shows only name, gender, date of birth, ContactPoint ID and parent names;
whereabouts, contacts, setting, GP, practitioners, identifiers and the names of the sources are withheld, unless
a child-protection user has overridden shielding for this session (an alert-level event). A sensitive service
(sexual health, mental health, substance misuse) shows only that "a service is involved"; the one lead
professional a user sees is chosen among the involvements they see, so a withheld lead changes nothing they see.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import overload

from contactpoint.access.authentication import user_actor
from contactpoint.access.models import SourceSystem, User
from contactpoint.access.reasons import Reason, StatedReason
from contactpoint.access.roles import Permission
from contactpoint.audit.actions import AuditAction, Outcome, Severity
from contactpoint.audit.trail import record_event
from contactpoint.children.identifiers import normalise_contactpoint_id
from contactpoint.children.models import Child
from contactpoint.children.record import (
    FIELD_GROUPS,
    VISIBLE_WHEN_SHIELDED,
    Carer,
    ChildRecord,
    Involvement,
    Provenance,
    Sourced,
    SourceIdentifier,
)
from contactpoint.children.store import live_by_cpid, load_groups
from contactpoint.config import SearchSettings, get_settings
from contactpoint.errors import NotFound, PermissionDenied, SearchRefused, ValidationError
from contactpoint.records import lookups
from contactpoint.records.involvements import has_viewed, la_team_for, own_entries
from contactpoint.vault.keyring import KeyRing

SENSITIVE_NOTICE = "A service is involved. Contact the local authority ContactPoint team."
NOT_FOUND = "There is no child with that ContactPoint ID that you can see."
WITHHELD_SOURCE = "withheld"


@dataclass(frozen=True)
class RecordView:
    cpid: str
    shielded: bool
    overridden: bool
    record: ChildRecord  # hidden groups are empty when withheld; provenance sources masked when shielded
    sensitive_involved: bool
    own_source_ids: tuple[SourceIdentifier, ...]
    responsible_la: str
    # The user's own entries (records.involvements.Entry), shown to them even when the record is shielded.
    own_entries: tuple = ()
    merged_from: str = ""  # the ContactPoint ID asked for, when it was merged into this record's

    @property
    def withheld(self) -> bool:
        return self.shielded and not self.overridden

    @property
    def lead_professional(self) -> Sourced[Involvement] | None:
        return next((i for i in self.record.involvements if i.value.lead_professional), None)

    @property
    def caf_holders(self) -> tuple[Sourced[Involvement], ...]:
        return tuple(i for i in self.record.involvements if i.value.caf_completed)


@overload
def _mask(item: Sourced) -> Sourced: ...


@overload
def _mask(item: None) -> None: ...


def _mask(item: Sourced | None) -> Sourced | None:
    if item is None:
        return None
    return Sourced(item.value, Provenance(WITHHELD_SOURCE, WITHHELD_SOURCE, item.provenance.received))


def _live_child(cpid: str) -> Child:
    """The live child with ``cpid``, or the one its merged record became (``live_by_cpid``); else ``NotFound``."""
    child = live_by_cpid(cpid)
    if child is None:
        raise NotFound(NOT_FOUND)
    return child


def _own_sources(user: User) -> set[str]:
    return set(SourceSystem.objects.filter(organisation=user.organisation).values_list("code", flat=True))


def build_view(user: User, child: Child, *, keyring: KeyRing, overridden: bool, today: date) -> RecordView:
    withheld = child.shielded and not overridden
    groups = [g for g in FIELD_GROUPS if not withheld or g in VISIBLE_WHEN_SHIELDED]
    data = load_groups(keyring, child, groups)
    source_ids = data.pop("source_ids", ())
    record = ChildRecord(**data) if not withheld else ChildRecord(
        cpid=child.cpid, name=_mask(data["name"]), gender=_mask(data["gender"]),
        date_of_birth=_mask(data["date_of_birth"]), former_names=tuple(_mask(f) for f in data["former_names"]),
        date_of_death=_mask(data["date_of_death"]),
        # Parents' and carers' names stay visible; how to reach them does not.
        carers=tuple(Sourced(Carer(c.value.name, c.value.relationship, c.value.parental_responsibility),
                             _mask(c).provenance) for c in data["carers"]))

    sees_sensitive = la_team_for(user, child)

    own = tuple(own_entries(user, child, keyring))
    own_keys = {e.key for e in own}
    visible, sensitive = [], False
    for item in record.involvements:
        if item.value.sensitive is not None and not sees_sensitive and item.value.key not in own_keys:
            sensitive = sensitive or item.value.active_on(today)
            continue
        visible.append(item)
    # The one lead is chosen among what this user sees: chosen among all, a withheld lead would show as a visible
    # lead losing its flag (issue 19: whether a service one may not see leads must not show; records.involvements).
    visible = list(_one_lead(visible, today))
    # Who is working with the child now comes first; ended involvements follow (issue 18: they looked current).
    visible.sort(key=lambda i: _ended(i.value, today))
    # The other postcodes the sources hold are for matching alone (ChildRecord.other_postcodes).
    record = replace(record, involvements=tuple(visible), source_ids=(), other_postcodes=())
    sources = _own_sources(user)
    return RecordView(child.cpid, child.shielded, child.shielded and overridden, record, sensitive,
                      tuple(s for s in source_ids if s.source in sources), child.responsible_la, own)


def _ended(involvement: Involvement, today: date) -> bool:
    return involvement.end_date is not None and involvement.end_date < today


def _one_lead(items: list[Sourced[Involvement]], today: date) -> tuple[Sourced[Involvement], ...]:
    """A child has one lead professional. A practitioner who recorded (and confirmed) taking the lead outranks a
    lead a source system still reports; ended involvements lead no one. Everyone else is shown without the flag."""
    leads = [i for i in items if i.value.lead_professional and i.value.active_on(today)]
    lead = max(leads, key=lambda i: (i.provenance.feed == "manual", i.provenance.received), default=None)
    return tuple(i if i is lead or not i.value.lead_professional
                 else Sourced(replace(i.value, lead_professional=False), i.provenance) for i in items)


def view_record(user: User, cpid: str, stated: StatedReason, *, keyring: KeyRing, now: datetime,
                overridden: bool = False, limits: SearchSettings | None = None) -> RecordView:
    """The record as ``user`` may see it, audited with the stated reason. Raises ``NotFound`` for an unknown,
    archived or sealed record alike (a practitioner cannot tell them apart)."""
    if not user.has(Permission.CHILD_VIEW):
        raise PermissionDenied("Your role does not include viewing children's records.")
    try:
        child = _live_child(normalise_contactpoint_id(cpid))
    except (NotFound, ValidationError):  # unknown, archived, sealed, or no ContactPoint ID at all: alike
        # Audited like a view: asking for IDs that lead nowhere is how one would guess at them. What was asked
        # for is kept sealed, as search criteria are (someone may type a name where the ID goes), and not named
        # as a subject: it may be no child's.
        record_event(AuditAction.RECORD_NOT_FOUND, actor=user_actor(user), keyring=keyring, at=now,
                     reason=stated.reason, outcome=Outcome.REFUSED, detail={"requested": cpid[:32]})
        raise NotFound(NOT_FOUND) from None
    asked, cpid = normalise_contactpoint_id(cpid), child.cpid
    try:
        lookups.take(user.pk, child.pk, now, limits or get_settings().search)
    except SearchRefused as refused:
        record_event(AuditAction.RECORD_RATE_LIMITED, actor=user_actor(user), keyring=keyring, at=now,
                     reason=stated.reason, outcome=Outcome.REFUSED, severity=Severity.ALERT,
                     context={"code": refused.code})
        raise
    overridden = overridden and child.shielded
    view = build_view(user, child, keyring=keyring, overridden=overridden, today=now.date())
    if asked != cpid:  # named too, so that a report on either ID shows the view
        view = replace(view, merged_from=asked)
    record_event(AuditAction.RECORD_VIEWED, actor=user_actor(user), keyring=keyring, at=now, reason=stated.reason,
                 subjects=[cpid, asked] if asked != cpid else [cpid],
                 context={"shielded": child.shielded, "override": overridden},
                 detail={"reason_text": stated.text} if stated.text else None)
    return view


def child_name(user: User, cpid: str, *, keyring: KeyRing) -> str:
    """The name of a child whose record ``user`` has opened (the audit trail shows the view), for the pages that
    act on that child, so that they say whom they act on ("Override shielding for Amelia Hartley"). A name is
    shown even on a shielded record, so this discloses nothing the audited view did not; for a child the user
    has not opened it is ``NotFound``."""
    child = _live_child(cpid)
    if not has_viewed(user, cpid):
        raise NotFound(NOT_FOUND)
    name = load_groups(keyring, child, ["names"])["name"]
    return name.value.display if name else "this child"


def override_shielding(user: User, cpid: str, stated: StatedReason, *, keyring: KeyRing, now: datetime) -> None:
    """A child-protection user chooses to see a shielded record's hidden details. Raises an alert at once; the
    caller keeps the override for this session only."""
    if not user.has(Permission.CHILD_SHIELD_OVERRIDE):
        raise PermissionDenied("Only child protection roles can override shielding.")
    if stated.reason != Reason.CHILD_PROTECTION:
        raise PermissionDenied("Shielding can be overridden only for a child protection enquiry.")
    child = _live_child(cpid)
    if not child.shielded:
        return
    record_event(AuditAction.SHIELD_OVERRIDE, actor=user_actor(user), keyring=keyring, at=now,
                 reason=stated.reason, subjects=[cpid], severity=Severity.ALERT, outcome=Outcome.SUCCESS,
                 context={"responsible_la": child.responsible_la},
                 detail={"reason_text": stated.text} if stated.text else None)
