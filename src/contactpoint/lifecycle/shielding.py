"""Shielding decisions (DESIGN.md section 1 "Shielding"; seed, answer to question 232464).

A local authority decides case by case, on the level of threat, after considering the views of the child, of
the parent or carer, and of each Schedule 4 or 5 body involved. Here:

    propose (officer A) ──► awaiting approval ──approve (officer B ≠ A)──► Child.shielded changes, index rebuilt
                                              └─reject──────────────────► nothing changes

A proposal on its own has no effect: ``Child.shielded`` (which search, the record view, discrepancy reports and
every other output read) is set only by an approved decision. Stopping shielding goes the same way. A shield
carries a review date; from then it is on the authority's work list until a new decision (continue, with a new
review date, or stop) is approved. The reason, threat level and views are personal data: sealed with the child's
data key.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from enum import StrEnum

from django.db import transaction
from django.db.models import Q

from contactpoint.access.authentication import user_actor
from contactpoint.access.models import User
from contactpoint.access.roles import Permission
from contactpoint.audit.actions import AuditAction, Severity
from contactpoint.audit.trail import record_event
from contactpoint.children.models import Child, ChildStatus
from contactpoint.children.store import cipher_for, load_record, reindex
from contactpoint.errors import LifecycleError, NotFound, ValidationError
from contactpoint.lifecycle.common import NOT_YOURS, authority_child, new_key, require, seal, unseal
from contactpoint.lifecycle.models import ShieldDecision
from contactpoint.records.view import RecordView, build_view
from contactpoint.vault.keyring import KeyRing

MAX_REVIEW_DAYS = 366  # a shield is looked at again at least once a year
TEXT_MAX = 2000
HIDDEN_REASON_MIN = 10


class ThreatLevel(StrEnum):
    MODERATE = "moderate"
    HIGH = "high"
    SEVERE = "severe"


THREAT_WORDS = {ThreatLevel.MODERATE: "Moderate: harm is possible",
                ThreatLevel.HIGH: "High: harm is likely if whereabouts become known",
                ThreatLevel.SEVERE: "Severe: a known threat to life or of serious harm"}


@dataclass(frozen=True)
class BodyView:
    """The view of one Schedule 4 or 5 body involved with the child: who was asked, when, what they said."""

    body: str
    asked: str
    asked_on: date
    said: str


@dataclass(frozen=True)
class Proposal:
    reason: str
    threat: ThreatLevel
    child_view: str
    carer_view: str
    bodies: tuple[BodyView, ...] = field(default=())
    review_on: date | None = None  # required to shield; none to stop

    def to_json(self) -> dict:
        out = asdict(self)
        out["threat"] = self.threat.value
        out["bodies"] = [{**asdict(b), "asked_on": b.asked_on.isoformat()} for b in self.bodies]
        out.pop("review_on")
        return out

    @classmethod
    def from_json(cls, raw: dict, review_on: date | None) -> Proposal:
        bodies = tuple(BodyView(b["body"], b["asked"], date.fromisoformat(b["asked_on"]), b["said"])
                       for b in raw["bodies"])
        return cls(raw["reason"], ThreatLevel(raw["threat"]), raw["child_view"], raw["carer_view"], bodies,
                   review_on)


def _text(value: str, name: str, what: str) -> str:
    value = (value or "").strip()
    if not value:
        raise ValidationError(name, f"enter {what}")
    if len(value) > TEXT_MAX:
        raise ValidationError(name, f"{what[0].upper()}{what[1:]} must be {TEXT_MAX} characters or fewer")
    return value


def check_proposal(kind: str, proposal: Proposal, today: date) -> Proposal:
    """The proposal with its text trimmed, or ``ValidationError`` naming the first thing missing."""
    reason = _text(proposal.reason, "reason", "the reason for the decision")
    child_view = _text(proposal.child_view, "child_view",
                       "the child's view (or why it could not be sought)")
    carer_view = _text(proposal.carer_view, "carer_view",
                       "the parent's or carer's view (or why it could not be sought)")
    bodies = []
    for n, b in enumerate(proposal.bodies, start=1):
        bodies.append(BodyView(_text(b.body, f"body_{n}", f"the name of body {n}"),
                               _text(b.asked, f"asked_{n}", f"who was asked at body {n}"),
                               b.asked_on, _text(b.said, f"said_{n}", f"what body {n} said")))
        if b.asked_on > today:
            raise ValidationError(f"asked_on_{n}", f"the date body {n} was asked must be today or in the past")
    review_on = proposal.review_on
    if kind == ShieldDecision.Kind.SHIELD:
        if review_on is None:
            raise ValidationError("review_on", "enter the date the shield must be reviewed")
        if review_on <= today or (review_on - today).days > MAX_REVIEW_DAYS:
            raise ValidationError("review_on", "the review date must be in the future and within a year")
    else:
        review_on = None
    return Proposal(reason, proposal.threat, child_view, carer_view, tuple(bodies), review_on)


def propose(user: User, cpid: str, kind: str, proposal: Proposal, *, keyring: KeyRing,
            now: datetime) -> ShieldDecision:
    """Record a proposal to shield (or continue shielding) or to stop shielding. It changes nothing until a
    second authorised officer approves it."""
    require(user, Permission.LA_SHIELD_PROPOSE, "Your role does not include proposing shielding.")
    proposal = check_proposal(kind, proposal, now.date())
    with transaction.atomic():
        child = authority_child(user, cpid, lock=True)
        if kind == ShieldDecision.Kind.UNSHIELD and not child.shielded:
            raise LifecycleError("This record is not shielded.")
        if ShieldDecision.objects.filter(child=child, status=ShieldDecision.Status.PROPOSED).exists():
            raise LifecycleError("A decision on this record is already awaiting approval. Approve or reject it "
                                 "first.")
        key = new_key()
        decision = ShieldDecision.objects.create(
            key=key, child=child, kind=kind, responsible_la=child.responsible_la, proposed_by=user,
            proposed_at=now, review_on=proposal.review_on,
            payload=seal(cipher_for(keyring, child), "shield", key, proposal.to_json()))
        record_event(AuditAction.SHIELD_PROPOSED, actor=user_actor(user), keyring=keyring, at=now,
                     subjects=[cpid], context={"kind": kind, "decision": key})
    return decision


def read(keyring: KeyRing, decision: ShieldDecision) -> tuple[Proposal, str]:
    """The proposal and the approver's note, decrypted (in memory only)."""
    cipher = cipher_for(keyring, decision.child)
    proposal = Proposal.from_json(unseal(cipher, "shield", decision.key, bytes(decision.payload)), decision.review_on)
    note = ""
    if decision.decision_note:
        note = unseal(cipher, "shield-note", decision.key, bytes(decision.decision_note))["note"]
    return proposal, note


def decision_for(user: User, pk: int) -> ShieldDecision:
    decision = ShieldDecision.objects.select_related("child", "proposed_by", "decided_by").filter(pk=pk).first()
    if decision is None or decision.responsible_la != user.organisation.la_code:
        raise NotFound("There is no shielding decision with that number for your local authority.")
    return decision


def decide(user: User, pk: int, *, approve: bool, note: str, keyring: KeyRing, now: datetime) -> ShieldDecision:
    """The second officer's decision. Four eyes: whoever proposed cannot approve or reject their own proposal.
    Approval sets ``Child.shielded`` and rebuilds the child's index rows (a shielded child is found only through
    fields that stay visible)."""
    require(user, Permission.LA_SHIELD_APPROVE, "Your role does not include approving shielding.")
    note = (note or "").strip()
    if len(note) > TEXT_MAX:
        raise ValidationError("note", f"the note must be {TEXT_MAX} characters or fewer")
    if not approve and not note:
        raise ValidationError("note", "say why the proposal is rejected")
    with transaction.atomic():
        decision = decision_for(user, pk)
        child = authority_child(user, decision.child.cpid, lock=True)
        decision = ShieldDecision.objects.select_for_update().get(pk=decision.pk)
        if decision.status != ShieldDecision.Status.PROPOSED:
            raise LifecycleError("This proposal has already been decided.")
        if decision.proposed_by_id == user.pk:
            raise LifecycleError("A second authorised officer must decide: you made this proposal.")
        cipher = cipher_for(keyring, child)
        decision.status = ShieldDecision.Status.APPROVED if approve else ShieldDecision.Status.REJECTED
        decision.decided_by, decision.decided_at = user, now
        if note:
            decision.decision_note = seal(cipher, "shield-note", decision.key, {"note": note})
        decision.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
        if approve:
            shielded = decision.kind == ShieldDecision.Kind.SHIELD
            if child.shielded != shielded:
                child.shielded = shielded
                child.save(update_fields=["shielded"])
                reindex(keyring, child, load_record(keyring, child, cipher))
        record_event(AuditAction.SHIELD_APPROVED if approve else AuditAction.SHIELD_REJECTED,
                     actor=user_actor(user), keyring=keyring, at=now, subjects=[child.cpid],
                     context={"kind": decision.kind, "decision": decision.key,
                              "proposed_by": decision.proposed_by.username})
    return decision


def current_shield(child: Child) -> ShieldDecision | None:
    """The approved decision that put the shield in place (or last continued it)."""
    return (ShieldDecision.objects.filter(child=child, kind=ShieldDecision.Kind.SHIELD,
                                          status=ShieldDecision.Status.APPROVED)
            .order_by("-decided_at", "-pk").first())


def awaiting_approval(la: str) -> list[ShieldDecision]:
    return list(ShieldDecision.objects.filter(responsible_la=la, status=ShieldDecision.Status.PROPOSED)
                .select_related("child", "proposed_by").order_by("proposed_at", "pk"))


def reviews_due(la: str, today: date) -> list[ShieldDecision]:
    """For each shielded live child of the authority, its current shield if the review date has come and no new
    decision is awaiting approval."""
    shielded = Child.objects.filter(responsible_la=la, shielded=True, status=ChildStatus.LIVE)
    pending = set(ShieldDecision.objects.filter(responsible_la=la, status=ShieldDecision.Status.PROPOSED)
                  .values_list("child_id", flat=True))
    latest: dict[int, ShieldDecision] = {}
    for d in (ShieldDecision.objects.filter(Q(child__in=shielded), kind=ShieldDecision.Kind.SHIELD,
                                            status=ShieldDecision.Status.APPROVED)
              .select_related("child").order_by("decided_at", "pk")):
        latest[d.child_id] = d
    return sorted((d for cid, d in latest.items() if cid not in pending and d.review_on and d.review_on <= today),
                  key=lambda d: (d.review_on, d.pk))


def view_hidden(user: User, cpid: str, reason: str, *, keyring: KeyRing, now: datetime) -> RecordView:
    """A data manager of the responsible authority sees a shielded record's hidden fields, to broker contact
    between practitioners. Needs a reason; audited as a warning for the auditors' monitoring."""
    require(user, Permission.LA_SHIELD_HIDDEN_VIEW, "Your role does not include seeing shielded details.")
    reason = (reason or "").strip()
    if len(reason) < HIDDEN_REASON_MIN:
        raise ValidationError("reason", f"say in at least {HIDDEN_REASON_MIN} characters why you need the hidden "
                                        "details")
    if len(reason) > 500:
        raise ValidationError("reason", "say why in 500 characters or fewer")
    child = authority_child(user, cpid)
    if not child.shielded:
        raise NotFound(NOT_YOURS)
    view = build_view(user, child, keyring=keyring, overridden=True, today=now.date())
    record_event(AuditAction.HIDDEN_FIELDS_VIEWED, actor=user_actor(user), keyring=keyring, at=now,
                 subjects=[cpid], severity=Severity.WARNING, reason="brokering contact",
                 detail={"reason_text": reason})
    return view
