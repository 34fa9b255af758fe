"""Pages for local authority data managers: the life of a record (contactpoint.lifecycle).

    work list ─► a record's life page ─► propose / approve / reject a shield or its end
                                     ├─► see hidden fields (to broker contact), record consent or its
                                     │   withdrawal
                                     ├─► notify a death, a move out of England (and back), a new identity
    archive (one year) · sealed records (opened by two officers)

Thin over the domain functions: every rule (which authority, four eyes, what is audited) lives there. A record
another authority is responsible for is a 404 here, as if it did not exist. Every change is a POST followed by
a redirect with a one-shot message (Post/Redirect/Get); pages that show child data are rendered for one
request and are never cached (SecurityHeadersMiddleware).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from contactpoint.access.authentication import user_actor
from contactpoint.access.roles import Permission
from contactpoint.audit.actions import AuditAction
from contactpoint.audit.trail import record_event
from contactpoint.children.identifiers import format_contactpoint_id, normalise_contactpoint_id
from contactpoint.children.models import ChildStatus
from contactpoint.children.record import Carer
from contactpoint.children.store import load_groups
from contactpoint.errors import LifecycleError, NotFound, PermissionDenied, ValidationError
from contactpoint.lifecycle import archive as archives
from contactpoint.lifecycle import consent as consents
from contactpoint.lifecycle import notices, shielding
from contactpoint.lifecycle.common import authority_child
from contactpoint.lifecycle.models import DeathNotice, SealedOpening, ShieldDecision
from contactpoint.lifecycle.shielding import THREAT_WORDS, BodyView, Proposal, ThreatLevel
from contactpoint.vault.keyring import get_keyring
from contactpoint.web.forms import GovukDateField, apply_error, attempt, cpid_or_404, posted
from contactpoint.web.guards import SignedInRequest, requires

BODY_SLOTS = 2
ALL_STATES = (ChildStatus.LIVE, ChildStatus.ARCHIVED, ChildStatus.SEALED)


# What the domain refuses with a message for the form. Not found goes on to the 404 page (nothing is revealed:
# NotFoundMiddleware).
REFUSED = (LifecycleError, PermissionDenied)


def _ctx() -> dict[str, Any]:
    return {"keyring": get_keyring(), "now": timezone.now()}


# --- forms --------------------------------------------------------------------------------------------------

class LayoutForm(forms.Form):
    """A form whose fields the shared template renders in order, each as its GOV.UK component."""

    layout: tuple[tuple[str, str], ...] = ()


AnyLayoutForm = TypeVar("AnyLayoutForm", bound=LayoutForm)


def _text(label: str, *, required: bool = True, help_text: str = "",
          max_length: int = 200) -> forms.CharField:
    return forms.CharField(label=label, required=required, help_text=help_text, max_length=max_length,
                           error_messages={"required": f"Enter {label[0].lower()}{label[1:]}"})


def _area(label: str, *, required: bool = True, help_text: str = "") -> forms.CharField:
    return forms.CharField(label=label, required=required, help_text=help_text,
                           max_length=shielding.TEXT_MAX, widget=forms.Textarea,
                           error_messages={"required": f"Enter {label[0].lower()}{label[1:]}"})


def _choice(label: str, choices, message: str) -> forms.ChoiceField:
    return forms.ChoiceField(label=label, choices=list(choices), widget=forms.RadioSelect,
                             error_messages={"required": message, "invalid_choice": message})


class FindForm(forms.Form):
    contactpoint_id = forms.CharField(label="ContactPoint ID", max_length=16,
                                      error_messages={"required": "Enter a ContactPoint ID"})


class ShieldForm(LayoutForm):
    reason = _area("Reason for the decision", help_text="The threat, and why hiding whereabouts reduces it")
    threat = _choice("Level of threat", [(t.value, THREAT_WORDS[t]) for t in ThreatLevel],
                     "Choose the level of threat")
    child_view = _area("The child's view",
                       help_text="What the child said, or why their view could not be sought")
    carer_view = _area("The parent's or carer's view",
                       help_text="What they said, or why their view could not be sought")
    review_on = GovukDateField(label="Review date", past_only=False, required=False,
                               help_text="Within a year. For example, 27 3 2027")

    def __init__(self, *args: Any, unshield: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        layout = [("reason", "textarea"), ("threat", "radios"), ("child_view", "textarea"),
                  ("carer_view", "textarea")]
        for n in range(1, BODY_SLOTS + 1):
            self.fields[f"body_{n}"] = _text(f"Body {n}: name", required=False,
                                             help_text="A Schedule 4 or 5 body involved with the child")
            self.fields[f"asked_{n}"] = _text(f"Body {n}: who was asked", required=False)
            self.fields[f"asked_on_{n}"] = GovukDateField(label=f"Body {n}: date asked", required=False)
            self.fields[f"said_{n}"] = _area(f"Body {n}: what they said", required=False)
            layout += [(f"body_{n}", "text"), (f"asked_{n}", "text"), (f"asked_on_{n}", "date"),
                       (f"said_{n}", "textarea")]
        if unshield:
            del self.fields["review_on"]
        else:
            layout.append(("review_on", "date"))
        self.layout = tuple(layout)

    def proposal(self) -> Proposal:
        data = self.cleaned_data
        bodies = []
        for n in range(1, BODY_SLOTS + 1):
            parts = [data.get(f"body_{n}"), data.get(f"asked_{n}"), data.get(f"asked_on_{n}"),
                     data.get(f"said_{n}")]
            if not any(parts):
                continue
            asked_on = data.get(f"asked_on_{n}")
            if asked_on is None:
                raise ValidationError(f"asked_on_{n}", f"enter the date body {n} was asked")
            bodies.append(BodyView(parts[0] or "", parts[1] or "", asked_on, parts[3] or ""))
        return Proposal(data["reason"], ThreatLevel(data["threat"]), data["child_view"], data["carer_view"],
                        tuple(bodies), data.get("review_on"))


class DecisionForm(LayoutForm):
    decision = _choice("Your decision", [("approve", "Approve"), ("reject", "Reject")],
                       "Choose approve or reject")
    note = _area("Note", required=False, help_text="Needed if you reject")
    layout = (("decision", "radios"), ("note", "textarea"))


class ReasonForm(LayoutForm):
    reason = _area("Why do you need to see this?",
                   help_text="For example, the practitioner asking and the contact you are arranging")
    layout = (("reason", "textarea"),)


class ConsentForm(LayoutForm):
    basis = _choice("Why they may stay until 25",
                    [(b.value, consents.BASIS_WORDS[b]) for b in consents.Basis],
                    "Choose why they may stay until 25")
    given_by = _text("Who gave consent", help_text="The young person's name as they gave it")
    given_on = GovukDateField(label="Date consent was given")
    method = _choice("How consent was given", [(m.value, consents.METHOD_WORDS[m]) for m in consents.Method],
                     "Choose how consent was given")
    explained_by = _text("Who explained it to them")
    informed = forms.BooleanField(
        label="They were told what ContactPoint holds, who can see it, and that they can withdraw at any "
              "time",
        required=False)
    layout = (("basis", "radios"), ("given_by", "text"), ("given_on", "date"), ("method", "radios"),
              ("explained_by", "text"), ("informed", "checkbox"))


class WithdrawForm(LayoutForm):
    on = GovukDateField(label="Date consent was withdrawn")
    how = _area("How they withdrew it")
    layout = (("on", "date"), ("how", "textarea"))


class DeathForm(LayoutForm):
    date_of_death = GovukDateField(label="Date of death")
    how = _area("How the death was notified", help_text="For example, the registrar's notification")
    layout = (("date_of_death", "date"), ("how", "textarea"))


class LeftForm(LayoutForm):
    left_on = GovukDateField(label="Date the child left England")
    intends = _choice("Do they intend to return within 3 years?",
                      [("yes", "Yes"), ("no", "No"), ("unknown", "Not known")], "Choose yes, no or not known")
    layout = (("left_on", "date"), ("intends", "radios"))


class ReturnedForm(LayoutForm):
    returned_on = GovukDateField(label="Date the child came back to England")
    layout = (("returned_on", "date"),)


class IdentityForm(LayoutForm):
    kind = _choice("Why the child has a new identity",
                   [(notices.IdentityKind.ADOPTION.value, "Adoption"),
                    (notices.IdentityKind.WITNESS_PROTECTION.value, "Witness protection")],
                   "Choose adoption or witness protection")
    given = _text("New given name")
    middle = _text("New middle names", required=False)
    family = _text("New family name")
    date_of_birth = GovukDateField(label="New date of birth", required=False,
                                   help_text="Only if the new identity needs one")
    carer = _text("New parent or carer", required=False, help_text="For example, the adoptive parent")
    layout = (("kind", "radios"), ("given", "text"), ("middle", "text"), ("family", "text"),
              ("date_of_birth", "date"), ("carer", "text"))


class OpeningForm(LayoutForm):
    contactpoint_id = _text("ContactPoint ID of the sealed record", max_length=16)
    purpose = _choice("Purpose", SealedOpening.Purpose.choices,
                      "Choose a child protection enquiry, a serious case review or a child death review")
    details = _area("Case reference and why the record is needed")
    layout = (("contactpoint_id", "text"), ("purpose", "radios"), ("details", "textarea"))


class OpeningDecisionForm(LayoutForm):
    decision = _choice("Your decision", [("approve", "Approve: open the record"), ("refuse", "Refuse")],
                       "Choose approve or refuse")
    layout = (("decision", "radios"),)


# --- the work list and a record's life page -----------------------------------------------------------------

@requires(Permission.LA_LIFECYCLE_MANAGE)
@require_http_methods(["GET", "POST"])
def worklist(request: SignedInRequest) -> HttpResponse:
    la = request.user.organisation.la_code
    today = timezone.localdate()
    form = FindForm(posted(request))
    if form.is_valid():
        try:
            cpid = normalise_contactpoint_id(form.cleaned_data["contactpoint_id"])
            return HttpResponseRedirect(reverse("lifecycle-child", args=[cpid]))
        except ValidationError as error:
            apply_error(form, error)
    return render(request, "lifecycle/worklist.html", {
        "title": "Shielding and retention", "form": form, "errors": form.errors,
        "proposals": shielding.awaiting_approval(la), "reviews": shielding.reviews_due(la, today),
        "openings": archives.openings(la, status=SealedOpening.Status.REQUESTED), "today": today,
        "fmt": format_contactpoint_id, "user": request.user})


@dataclass(frozen=True)
class LifeSummary:
    child: Any
    name: str | None
    date_of_birth: date | None
    consent: Any
    death: bool
    pending: ShieldDecision | None
    shield: ShieldDecision | None


@requires(Permission.LA_LIFECYCLE_MANAGE)
@require_http_methods(["GET"])
def child_page(request: SignedInRequest, cpid: str) -> HttpResponse:
    cpid = cpid_or_404(cpid)
    child = authority_child(request.user, cpid, statuses=ALL_STATES)
    name = dob = None
    if child.status == ChildStatus.LIVE:  # archived and sealed records show nothing here but their state
        groups = load_groups(get_keyring(), child, ["names", "birth"])
        name, dob = groups["name"].value.display, groups["date_of_birth"].value
        record_event(AuditAction.RECORD_VIEWED, actor=user_actor(request.user), keyring=get_keyring(),
                     at=timezone.now(), subjects=[cpid], reason="records management",
                     context={"page": "lifecycle", "shielded": child.shielded})
    summary = LifeSummary(child, name, dob, consents.active_consent(child),
                          DeathNotice.objects.filter(child=child).exists(),
                          ShieldDecision.objects.filter(child=child,
                                                        status=ShieldDecision.Status.PROPOSED).first(),
                          shielding.current_shield(child) if child.shielded else None)
    return render(request, "lifecycle/child.html", {
        "title": "The life of a record", "s": summary, "cpid": cpid,
        "cpid_display": format_contactpoint_id(cpid), "user": request.user, "Permission": Permission})


# --- a form page, then back to the record's life page -------------------------------------------------------

def _form_page(request: HttpRequest, cpid: str, form_class: type[AnyLayoutForm], *, heading: str, button: str,
               act: Callable[[AnyLayoutForm, str], Any], done: str, intro: str = "", warning: str = "",
               form_kwargs: dict | None = None, back: str | None = None) -> HttpResponse:
    cpid = cpid_or_404(cpid)
    form = form_class(posted(request), **(form_kwargs or {}))
    if form.is_valid():
        ok, result = attempt(form, lambda: act(form, cpid), REFUSED)
        if ok:
            if isinstance(result, HttpResponse):
                return result
            messages.success(request, done)
            return HttpResponseRedirect(back or reverse("lifecycle-child", args=[cpid]))
    return render(request, "lifecycle/form.html", {
        "title": heading, "heading": heading, "button": button, "intro": intro, "warning": warning,
        "form": form, "errors": form.errors, "caption": f"ContactPoint ID {format_contactpoint_id(cpid)}",
        "back": back or reverse("lifecycle-child", args=[cpid])})


def _propose(request: SignedInRequest, cpid: str, kind: str) -> HttpResponse:
    unshield = kind == ShieldDecision.Kind.UNSHIELD

    def act(form: ShieldForm, cpid: str):
        return shielding.propose(request.user, cpid, kind, form.proposal(), **_ctx())

    return _form_page(
        request, cpid, ShieldForm, form_kwargs={"unshield": unshield},
        heading="Propose to stop shielding" if unshield else "Propose shielding",
        button="Send for approval", act=act,
        done="Proposal recorded. It has no effect until a second authorised officer approves it.",
        intro="Record the views of the child, of their parent or carer and of each body involved. A second "
              "authorised officer of your authority must approve the proposal before it has any effect.")


@requires(Permission.LA_SHIELD_PROPOSE)
@require_http_methods(["GET", "POST"])
def shield_propose(request: SignedInRequest, cpid: str) -> HttpResponse:
    return _propose(request, cpid, ShieldDecision.Kind.SHIELD)


@requires(Permission.LA_SHIELD_PROPOSE)
@require_http_methods(["GET", "POST"])
def unshield_propose(request: SignedInRequest, cpid: str) -> HttpResponse:
    return _propose(request, cpid, ShieldDecision.Kind.UNSHIELD)


@requires(Permission.LA_SHIELD_APPROVE)
@require_http_methods(["GET", "POST"])
def decision_page(request: SignedInRequest, pk: int) -> HttpResponse:
    decision = shielding.decision_for(request.user, pk)
    form = DecisionForm(posted(request))
    if form.is_valid():
        ok, _ = attempt(form, lambda: shielding.decide(
            request.user, pk, approve=form.cleaned_data["decision"] == "approve",
            note=form.cleaned_data["note"], **_ctx()), REFUSED)
        if ok:
            approved = form.cleaned_data["decision"] == "approve"
            messages.success(request,
                             "Decision approved: it now applies." if approved else "Proposal rejected.")
            return HttpResponseRedirect(reverse("lifecycle-child", args=[decision.child.cpid]))
    keyring = get_keyring()
    proposal, note = shielding.read(keyring, decision)
    name = load_groups(keyring, decision.child, ["names"])["name"].value.display
    record_event(AuditAction.RECORD_VIEWED, actor=user_actor(request.user), keyring=keyring,
                 at=timezone.now(), subjects=[decision.child.cpid], reason="records management",
                 context={"page": "shielding decision", "decision": decision.key})
    return render(request, "lifecycle/decision.html", {
        "title": "Shielding decision", "d": decision, "p": proposal, "note": note, "name": name, "form": form,
        "errors": form.errors, "threat_words": THREAT_WORDS, "cpid_display": format_contactpoint_id(
            decision.child.cpid), "own": decision.proposed_by_id == request.user.pk})


class _Stated:
    """What the record template shows as the reason given."""

    def __init__(self, label: str) -> None:
        self.label = label


def _record(request: HttpRequest, view, cpid: str, label: str, extra: dict | None = None) -> HttpResponse:
    return render(request, "lifecycle/record.html", {
        "title": "Child's record", "view": view, "record": view.record, "reason": _Stated(label),
        "cpid_display": format_contactpoint_id(cpid), "today": timezone.localdate(), "can_override": False,
        "can_record": False, **(extra or {})})


@requires(Permission.LA_SHIELD_HIDDEN_VIEW)
@require_http_methods(["GET", "POST"])
def hidden_page(request: SignedInRequest, cpid: str) -> HttpResponse:
    """The hidden fields, shown once in reply to the POST that gave the reason (never at a URL of their
    own)."""
    def act(form: ReasonForm, cpid: str):
        view = shielding.view_hidden(request.user, cpid, form.cleaned_data["reason"], **_ctx())
        return _record(request, view, cpid, "Brokering contact (shielded details shown)")

    return _form_page(request, cpid, ReasonForm, heading="See this shielded record's hidden details",
                      button="Show the hidden details", act=act, done="",
                      warning="This record is shielded because the child, or others, may be at risk of "
                              "harm. Use what you see only to put practitioners in touch. Auditors are told "
                              "of every look.")


@requires(Permission.LA_LIFECYCLE_MANAGE)
@require_http_methods(["GET", "POST"])
def consent_page(request: SignedInRequest, cpid: str) -> HttpResponse:
    def act(form: ConsentForm, cpid: str):
        d = form.cleaned_data
        return consents.record_consent(request.user, cpid, consents.Consent(
            consents.Basis(d["basis"]), d["given_by"], d["given_on"], consents.Method(d["method"]),
            d["explained_by"], bool(d["informed"])), **_ctx())

    return _form_page(request, cpid, ConsentForm, heading="Record consent to stay until 25",
                      button="Record consent", act=act,
                      done="Consent recorded: the record stays live until the young person's 25th "
                           "birthday, unless they withdraw it.",
                      intro="Only for care leavers and young people with learning disabilities, and only "
                            "with their own informed, explicit consent.")


@requires(Permission.LA_LIFECYCLE_MANAGE)
@require_http_methods(["GET", "POST"])
def withdraw_page(request: SignedInRequest, cpid: str) -> HttpResponse:
    def act(form: WithdrawForm, cpid: str):
        return consents.withdraw_consent(request.user, cpid, on=form.cleaned_data["on"],
                                         how=form.cleaned_data["how"], **_ctx())

    return _form_page(request, cpid, WithdrawForm, heading="Record that consent was withdrawn",
                      button="Record withdrawal", act=act,
                      done="Withdrawal recorded. If the young person is 18 or over, the record is archived "
                           "on the next daily run.")


@requires(Permission.LA_LIFECYCLE_MANAGE)
@require_http_methods(["GET", "POST"])
def death_page(request: SignedInRequest, cpid: str) -> HttpResponse:
    def act(form: DeathForm, cpid: str):
        return notices.notify_death(request.user, cpid, date_of_death=form.cleaned_data["date_of_death"],
                                    how=form.cleaned_data["how"], **_ctx())

    return _form_page(request, cpid, DeathForm, heading="Notify a death", button="Record the death", act=act,
                      done="Death recorded. The record stays live for one year, then is archived.")


@requires(Permission.LA_LIFECYCLE_MANAGE)
@require_http_methods(["GET", "POST"])
def left_page(request: SignedInRequest, cpid: str) -> HttpResponse:
    def act(form: LeftForm, cpid: str):
        intends = {"yes": True, "no": False}.get(form.cleaned_data["intends"])
        return notices.left_england(request.user, cpid, left_on=form.cleaned_data["left_on"],
                                    intends_to_return=intends, **_ctx())

    return _form_page(request, cpid, LeftForm, heading="Record that the child has left England",
                      button="Record and archive", act=act,
                      done="Recorded. The record is archived; if the child comes back within 3 years, record "
                           "their return to make it live again.",
                      warning="The record is archived at once and leaves every search.")


@requires(Permission.LA_LIFECYCLE_MANAGE)
@require_http_methods(["GET", "POST"])
def returned_page(request: SignedInRequest, cpid: str) -> HttpResponse:
    def act(form: ReturnedForm, cpid: str):
        return notices.returned_to_england(request.user, cpid, returned_on=form.cleaned_data["returned_on"],
                                           **_ctx())

    return _form_page(request, cpid, ReturnedForm, heading="Record that the child has come back to England",
                      button="Make the record live again", act=act, done="The record is live again.")


@requires(Permission.LA_LIFECYCLE_MANAGE)
@require_http_methods(["GET", "POST"])
def identity_page(request: SignedInRequest, cpid: str) -> HttpResponse:
    def act(form: IdentityForm, cpid: str):
        d = form.cleaned_data
        new = notices.new_identity(request.user, cpid, notices.NewIdentity(
            notices.IdentityKind(d["kind"]), d["given"], d["family"], d["middle"] or "", d["date_of_birth"],
            (Carer(d["carer"]),) if d["carer"] else ()), **_ctx())
        return render(request, "lifecycle/identity_done.html", {
            "title": "New identity recorded", "new": format_contactpoint_id(new), "new_cpid": new})

    return _form_page(request, cpid, IdentityForm, heading="Give the child a new identity", button="Record",
                      act=act, done="",
                      warning="The child gets a new ContactPoint ID and the old record is sealed at once. "
                              "Nothing visible links the two. Write the new ID down: it is shown only once.")


# --- the archive and sealed records -------------------------------------------------------------------------

@requires(Permission.LA_ARCHIVE_VIEW)
@require_http_methods(["GET"])
def archive_page(request: SignedInRequest) -> HttpResponse:
    entries = archives.archived_records(request.user, **_ctx())
    return render(request, "lifecycle/archive.html", {"title": "Archived records", "entries": entries,
                                                      "fmt": format_contactpoint_id})


@requires(Permission.LA_ARCHIVE_VIEW)
@require_http_methods(["GET", "POST"])
def archived_record_page(request: SignedInRequest, cpid: str) -> HttpResponse:
    def act(form: ReasonForm, cpid: str):
        view, info = archives.view_archived(request.user, cpid, form.cleaned_data["reason"], **_ctx())
        return _record(request, view, cpid, "Records management (archived record)", {"archived": info})

    return _form_page(request, cpid, ReasonForm, heading="Open an archived record", button="Open the record",
                      act=act, done="", back=reverse("lifecycle-archive"))


@requires(Permission.LA_SEALED_OPEN)
@require_http_methods(["GET", "POST"])
def sealed_page(request: SignedInRequest) -> HttpResponse:
    form = OpeningForm(posted(request))
    if form.is_valid():
        d = form.cleaned_data
        try:
            cpid = normalise_contactpoint_id(d["contactpoint_id"])
        except ValidationError as error:
            apply_error(form, error)
        else:
            try:
                archives.request_opening(request.user, cpid, d["purpose"], d["details"], **_ctx())
            except ValidationError as error:
                apply_error(form, error)
            except (LifecycleError, PermissionDenied) as refused:
                form.add_error(None, refused.message)
            except NotFound:
                form.add_error("contactpoint_id", "There is no sealed record with that ContactPoint ID that "
                                                  "your authority is responsible for")
            else:
                messages.success(request, "Request recorded. A second authorised officer must approve it.")
                return HttpResponseRedirect(reverse("lifecycle-sealed"))
    return render(request, "lifecycle/sealed.html", {
        "title": "Sealed records", "form": form, "errors": form.errors,
        "openings": archives.openings(request.user.organisation.la_code), "fmt": format_contactpoint_id,
        "user": request.user, "now": timezone.now(), "is_open": archives.is_open})


@requires(Permission.LA_SEALED_OPEN)
@require_http_methods(["GET", "POST"])
def opening_page(request: SignedInRequest, pk: int) -> HttpResponse:
    opening = archives.opening_for(request.user, pk)
    now = timezone.now()
    if archives.is_open(opening, request.user, now):
        view, info = archives.view_sealed(request.user, pk, **_ctx())
        return _record(request, view, opening.child.cpid, f"{opening.get_purpose_display()} (sealed record)",
                       {"archived": info})
    form = OpeningDecisionForm(posted(request))
    if form.is_valid():
        ok, _ = attempt(form, lambda: archives.decide_opening(
            request.user, pk, approve=form.cleaned_data["decision"] == "approve", **_ctx()), REFUSED)
        if ok:
            messages.success(request, "Decision recorded.")
            return HttpResponseRedirect(reverse("lifecycle-sealed"))
    return render(request, "lifecycle/opening.html", {
        "title": "Request to open a sealed record", "o": opening, "form": form, "errors": form.errors,
        "details": archives.opening_details(get_keyring(), opening), "fmt": format_contactpoint_id,
        "own": opening.requested_by_id == request.user.pk})
