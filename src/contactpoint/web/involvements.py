"""Recording one's own involvement with a child, sensitive-service consent, and brokering: GOV.UK pages over
``contactpoint.records.involvements`` and ``contactpoint.records.brokering``.

Recording can take up to three steps: the involvement itself; for a sensitive service, the young person's
consent or the significant-harm decision; and, when someone else is lead professional, confirming the
takeover. What the practitioner entered waits in their session between steps (their own contact details and
choices, never the child's), and nothing is stored until the last step succeeds."""

from __future__ import annotations

from dataclasses import asdict, replace
from datetime import date

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from contactpoint.access.models import User
from contactpoint.access.roles import Permission
from contactpoint.children.identifiers import format_contactpoint_id
from contactpoint.children.record import SensitiveBasis
from contactpoint.errors import LeadNeedsConfirmation, NotFound, PermissionDenied, ValidationError
from contactpoint.records import brokering
from contactpoint.records.involvements import (
    CONSENT_HOW,
    NEUTRAL_LEAD_QUESTIONS,
    SERVICES,
    Details,
    Entry,
    SensitiveGround,
    change_involvement,
    consented_entry_for_la,
    end_involvement,
    entry_for,
    has_viewed,
    lead_conflict,
    record_involvement,
    withdraw_consent,
)
from contactpoint.records.models import BrokeringRequest
from contactpoint.records.view import child_name
from contactpoint.vault.keyring import get_keyring
from contactpoint.web.forms import GovukDateField, apply_error, cpid_or_404, posted
from contactpoint.web.guards import SignedInRequest, requires

PENDING = "involvement_pending"
LEAD, CAF = "lead_professional", "caf_completed"


class InvolvementForm(forms.Form):
    service = forms.ChoiceField(label="Which service are you involved through?",
                                choices=[("", "Choose a service"), *SERVICES],
                                help_text="Sexual health, mental health and substance misuse services are "
                                          "recorded only with the young person's consent, or where "
                                          "significant harm is suspected. Other practitioners see only that "
                                          "a service is involved.",
                                error_messages={"required": "Choose the service you work for",
                                                "invalid_choice": "Choose the service you work for"})
    role = forms.CharField(label="Your role", max_length=100, help_text="For example, health visitor",
                           error_messages={"required": "Enter your role, for example health visitor",
                                           "max_length": "Your role must be 100 characters or fewer"})
    phone = forms.CharField(label="Phone number", required=False, max_length=30,
                            help_text="Other practitioners use this to contact you about the child",
                            error_messages={"max_length": "Enter a phone number of 30 characters or fewer"})
    email = forms.CharField(label="Email address", required=False, max_length=254,
                            error_messages={
                                "max_length": "Enter an email address of 254 characters or fewer"})
    start_date = GovukDateField(label="Date your involvement started",
                                error_messages={"required": "Enter the date your involvement started"})
    flags = forms.MultipleChoiceField(
        label="Lead professional and Common Assessment", required=False, widget=forms.CheckboxSelectMultiple,
        choices=[(LEAD, "I am the lead professional for this child"),
                 (CAF, "A Common Assessment (CAF) has been completed and I hold it")],
        error_messages={"invalid_choice": "Choose from the options given"})

    def details(self, ground: SensitiveGround | None = None) -> Details:
        d = self.cleaned_data
        return Details(service=d["service"], role=d["role"], phone=d["phone"], email=d["email"],
                       start_date=d["start_date"], lead_professional=LEAD in d["flags"],
                       caf_completed=CAF in d["flags"], ground=ground)


class GroundForm(forms.Form):
    basis = forms.ChoiceField(label="Why can this service be recorded?", widget=forms.RadioSelect,
                              choices=[(SensitiveBasis.CONSENT.value,
                                        "The young person has given their consent"),
                                       (SensitiveBasis.SIGNIFICANT_HARM.value,
                                        "Significant harm is suspected")],
                              error_messages={"required": "Choose whether the young person consented or "
                                                          "significant harm is suspected"})
    consent_by = forms.CharField(label="Who gave consent?", required=False, max_length=100,
                                 help_text="For example, the young person")
    consent_on = GovukDateField(label="Date consent was given", required=False)
    consent_how = forms.ChoiceField(label="How was consent given?", required=False, widget=forms.RadioSelect,
                                    choices=[("", ""), *CONSENT_HOW])
    harm_by = forms.CharField(label="Who decided that significant harm is suspected?", required=False,
                              max_length=100, help_text="Their name and role")
    harm_on = GovukDateField(label="Date of the decision", required=False)
    harm_why = forms.CharField(label="Why is significant harm suspected?", required=False, max_length=500,
                               widget=forms.Textarea,
                               help_text="Basic reasons only: do not give case details")

    def ground(self) -> SensitiveGround | None:
        d = self.cleaned_data
        if d["basis"] == SensitiveBasis.CONSENT:
            if d["consent_on"] is None:
                self.add_error("consent_on", "Enter the date consent was given")
                return None
            return SensitiveGround(SensitiveBasis.CONSENT, d["consent_by"], d["consent_on"], d["consent_how"])
        if d["harm_on"] is None:
            self.add_error("harm_on", "Enter the date this was decided")
            return None
        return SensitiveGround(SensitiveBasis.SIGNIFICANT_HARM, d["harm_by"], d["harm_on"], why=d["harm_why"])


class LeadForm(forms.Form):
    take_lead = forms.ChoiceField(label="Are you taking over as lead professional?", widget=forms.RadioSelect,
                                  choices=[("yes", "Yes, I am taking over as lead professional"),
                                           ("no", "No, record my involvement without lead professional")],
                                  error_messages={"required": "Choose whether you are taking over as lead "
                                                              "professional"})


class EndForm(forms.Form):
    end_date = GovukDateField(label="Date your involvement ended",
                              error_messages={"required": "Enter the date your involvement ended"})


class ContactRequestForm(forms.Form):
    message = forms.CharField(label="What do you need? (optional)", required=False, max_length=1000,
                              widget=forms.Textarea,
                              help_text="For example, why you need to reach the service and by when. Do not "
                                        "give case details.",
                              error_messages={"max_length": "Your message must be 1000 characters or fewer"})


class ResolveForm(forms.Form):
    status = forms.ChoiceField(label="What happened?", widget=forms.RadioSelect,
                               choices=[(BrokeringRequest.Status.BROKERED.value,
                                         "I put the practitioner in touch"),
                                        (BrokeringRequest.Status.CLOSED.value,
                                         "I closed the request without putting them in touch")],
                               error_messages={"required": "Choose what happened"})
    note = forms.CharField(label="Note for your team (optional)", required=False, max_length=1000,
                           widget=forms.Textarea,
                           error_messages={"max_length": "The note must be 1000 characters or fewer"})


# --- helpers ------------------------------------------------------------------------------------------------


def _refused(request: HttpRequest, message: str) -> HttpResponse:
    return render(request, "web/error.html", {"title": "You cannot change this involvement", "body": message},
                  status=403)


def _record_url(cpid: str) -> str:
    return reverse("child-record", args=[cpid])


def _done(request: HttpRequest, cpid: str, message: str) -> HttpResponse:
    messages.success(request, message)
    request.session.pop(PENDING, None)
    return HttpResponseRedirect(_record_url(cpid))


def _pack(details: Details) -> dict:
    out = asdict(details)
    out["start_date"] = details.start_date.isoformat() if details.start_date else None
    out["ground"] = details.ground.to_json() if details.ground else None
    return out


def _unpack(raw: dict) -> Details:
    started = date.fromisoformat(raw["start_date"]) if raw["start_date"] else None
    return Details(**{**raw, "start_date": started, "ground": SensitiveGround.from_json(raw["ground"])})


def _pending(request: HttpRequest, cpid: str) -> dict | None:
    pending = request.session.get(PENDING)
    return pending if pending and pending.get("cpid") == cpid else None


def _save(request: SignedInRequest, cpid: str, key: str | None, details: Details, *,
          take_lead: bool = False) -> HttpResponse | ValidationError:
    """Store the involvement; or send the practitioner to the step still needed; or return the refusal.

    The lead professional question comes before the consent one: the consent or significant-harm details can
    say something about the child, so they are never kept in the session waiting for another answer."""
    pending = {"cpid": cpid, "key": key, "details": _pack(replace(details, ground=None)),
               "take_lead": take_lead}
    if details.lead_professional and not take_lead:
        try:
            message = lead_conflict(request.user, cpid, key, keyring=get_keyring(),
                                    today=timezone.localdate())
        except (PermissionDenied, NotFound) as refused:
            return ValidationError("service", refused.message)
        if message:
            request.session[PENDING] = {**pending, "lead_message": message}
            return HttpResponseRedirect(reverse("child-involvement-lead", args=[cpid]))
    if details.sensitive is not None and details.ground is None and not _keeps_ground(request, key, details):
        request.session[PENDING] = pending
        return HttpResponseRedirect(reverse("child-involvement-consent", args=[cpid]))
    try:
        if key is None:
            record_involvement(request.user, cpid, details, keyring=get_keyring(), now=timezone.now(),
                               take_lead=take_lead)
        else:
            change_involvement(request.user, key, details, keyring=get_keyring(), now=timezone.now(),
                               take_lead=take_lead)
    except LeadNeedsConfirmation as asked:  # someone took the lead since we asked: ask again (consent too)
        request.session[PENDING] = {**pending, "lead_message": asked.message}
        return HttpResponseRedirect(reverse("child-involvement-lead", args=[cpid]))
    except (PermissionDenied, NotFound) as refused:
        return ValidationError("service", refused.message)
    except ValidationError as refused:
        return refused
    return _done(request, cpid, "Your involvement has been recorded" if key is None
                 else "Your involvement has been changed")


def _keeps_ground(request: SignedInRequest, key: str | None, details: Details) -> bool:
    """A change to an entry already recorded for the same sensitive service keeps its consent or decision."""
    if key is None:
        return False
    entry = entry_for(request.user, key, keyring=get_keyring())
    return entry.involvement.sensitive == details.sensitive and entry.involvement.ground is not None


def _parts(day: date | None) -> dict[str, str] | None:
    """A date as the three boxes show it (an unbound form renders ``initial`` as given)."""
    return None if day is None else {"day": str(day.day), "month": str(day.month), "year": str(day.year)}


def _initial(entry: Entry) -> dict:
    v = entry.involvement
    flags = [f for f, on in ((LEAD, v.lead_professional), (CAF, v.caf_completed)) if on]
    return {"service": v.service_code, "role": v.role, "phone": v.practitioner_phone,
            "email": v.practitioner_email, "start_date": _parts(v.start_date), "flags": flags}


def _own_entry(request: SignedInRequest, cpid: str, key: str) -> Entry | HttpResponse:
    try:
        entry = entry_for(request.user, key, keyring=get_keyring())
    except PermissionDenied as refused:
        return _refused(request, refused.message)
    if entry.cpid != cpid:
        raise Http404
    return entry


def _context(cpid: str, user: User | None = None, **more) -> dict:
    """What every involvement page shows of the child: the ContactPoint ID and, for a user who has opened the
    record, the child's name (issue 18: a page that acts on a child names the child)."""
    name = ""
    if user is not None:
        try:
            name = child_name(user, cpid, keyring=get_keyring())
        except NotFound:
            name = ""
    return {"cpid": cpid, "cpid_display": format_contactpoint_id(cpid), "child_name": name, **more}


# --- recording and changing ---------------------------------------------------------------------------------


@requires(Permission.CHILD_INVOLVEMENT)
@require_http_methods(["GET", "POST"])
def new(request: SignedInRequest, cpid: str) -> HttpResponse:
    cpid = cpid_or_404(cpid)
    if not has_viewed(request.user, cpid):
        return HttpResponseRedirect(_record_url(cpid))  # the record page asks for a reason first
    user = request.user
    form = InvolvementForm(posted(request), initial={"phone": user.phone, "email": user.email})
    if form.is_valid():
        outcome = _save(request, cpid, None, form.details())
        if isinstance(outcome, HttpResponse):
            return outcome
        apply_error(form, outcome, fallback="service")
    return render(request, "involvements/form.html", _context(
        cpid, request.user, title="Record your involvement", form=form, heading="Record your involvement",
        button="Continue"))


@requires(Permission.CHILD_INVOLVEMENT)
@require_http_methods(["GET", "POST"])
def change(request: SignedInRequest, cpid: str, key: str) -> HttpResponse:
    cpid = cpid_or_404(cpid)
    entry = _own_entry(request, cpid, key)
    if isinstance(entry, HttpResponse):
        return entry
    form = InvolvementForm(posted(request), initial=_initial(entry))
    if form.is_valid():
        outcome = _save(request, cpid, key, form.details())
        if isinstance(outcome, HttpResponse):
            return outcome
        apply_error(form, outcome, fallback="service")
    return render(request, "involvements/form.html", _context(
        cpid, request.user, title="Change your involvement", form=form, heading="Change your involvement",
        button="Save changes", entry=entry))


@requires(Permission.CHILD_INVOLVEMENT)
@require_http_methods(["GET", "POST"])
def consent(request: SignedInRequest, cpid: str) -> HttpResponse:
    cpid = cpid_or_404(cpid)
    pending = _pending(request, cpid)
    if pending is None:
        return HttpResponseRedirect(reverse("child-involvement-new", args=[cpid]))
    details = _unpack(pending["details"])
    form = GroundForm(posted(request))
    if form.is_valid():
        ground = form.ground()
        if ground is not None:
            outcome = _save(request, cpid, pending["key"], replace(details, ground=ground),
                            take_lead=pending.get("take_lead", False))
            if isinstance(outcome, HttpResponse):
                return outcome
            apply_error(form, outcome, fallback="basis")
    return render(request, "involvements/consent.html", _context(
        cpid, request.user, title="Consent or significant harm", form=form, service=dict(SERVICES)[details.service],
        back=reverse("child-involvement-new", args=[cpid]) if pending["key"] is None
        else reverse("child-involvement-change", args=[cpid, pending["key"]])))


@requires(Permission.CHILD_INVOLVEMENT)
@require_http_methods(["GET", "POST"])
def lead(request: SignedInRequest, cpid: str) -> HttpResponse:
    cpid = cpid_or_404(cpid)
    pending = _pending(request, cpid)
    if pending is None or "lead_message" not in pending:
        return HttpResponseRedirect(_record_url(cpid))
    details = _unpack(pending["details"])
    form = LeadForm(posted(request))
    if form.is_valid():
        taking = form.cleaned_data["take_lead"] == "yes"
        outcome = _save(request, cpid, pending["key"],
                        details if taking else replace(details, lead_professional=False), take_lead=taking)
        if isinstance(outcome, HttpResponse):
            return outcome
        form.add_error(None, outcome.reason[0].upper() + outcome.reason[1:])
    return render(request, "involvements/lead.html", _context(
        cpid, request.user, title="Lead professional", form=form, message=pending["lead_message"],
        neutral=pending["lead_message"] in NEUTRAL_LEAD_QUESTIONS))


@requires(Permission.CHILD_INVOLVEMENT)
@require_http_methods(["GET", "POST"])
def end(request: SignedInRequest, cpid: str, key: str) -> HttpResponse:
    cpid = cpid_or_404(cpid)
    entry = _own_entry(request, cpid, key)
    if isinstance(entry, HttpResponse):
        return entry
    form = EndForm(posted(request), initial={"end_date": _parts(timezone.localdate())})
    if form.is_valid():
        try:
            end_involvement(request.user, key, form.cleaned_data["end_date"], keyring=get_keyring(),
                            now=timezone.now())
        except ValidationError as refused:
            apply_error(form, refused, fallback="end_date")
        else:
            return _done(request, cpid, "Your involvement has been ended")
    return render(request, "involvements/end.html", _context(cpid, request.user, title="End your involvement",
                                                             form=form, entry=entry))


@requires(Permission.CHILD_INVOLVEMENT)
@require_http_methods(["GET", "POST"])
def withdraw(request: SignedInRequest, cpid: str, key: str) -> HttpResponse:
    cpid = cpid_or_404(cpid)
    entry = _own_entry(request, cpid, key)
    if isinstance(entry, HttpResponse):
        return entry
    error = None
    if request.method == "POST":
        try:
            withdraw_consent(request.user, key, keyring=get_keyring(), now=timezone.now())
        except ValidationError as refused:
            error = refused.reason[0].upper() + refused.reason[1:]
        else:
            return _done(request, cpid, "The service has been removed from the child's record")
    return render(request, "involvements/withdraw.html", _context(
        cpid, request.user, title="Consent withdrawn", entry=entry, error=error, errors=bool(error)))


@requires(Permission.LA_SENSITIVE_MANAGE)
@require_http_methods(["GET", "POST"])
def la_withdraw(request: SignedInRequest, cpid: str, key: str) -> HttpResponse:
    """The young person tells the local authority team, rather than the practitioner, that they withdraw
    consent."""
    cpid = cpid_or_404(cpid)
    entry = consented_entry_for_la(request.user, key, keyring=get_keyring())
    if entry.cpid != cpid:
        raise Http404
    if request.method == "POST":
        withdraw_consent(request.user, key, keyring=get_keyring(), now=timezone.now())
        return _done(request, cpid, "The service has been removed from the child's record")
    return render(request, "involvements/withdraw.html",
                  _context(cpid, request.user, title="Consent withdrawn", entry=entry, error=None))


# --- brokering ----------------------------------------------------------------------------------------------


@requires(Permission.CHILD_VIEW)
@require_http_methods(["GET", "POST"])
def contact_request(request: SignedInRequest, cpid: str) -> HttpResponse:
    cpid = cpid_or_404(cpid)
    if not has_viewed(request.user, cpid):
        return HttpResponseRedirect(_record_url(cpid))
    form = ContactRequestForm(posted(request))
    if form.is_valid():
        try:
            brokering.request_contact(request.user, cpid, form.cleaned_data["message"], keyring=get_keyring(),
                                      now=timezone.now())
        except ValidationError as refused:
            apply_error(form, refused, fallback="message")
        else:
            return render(request, "involvements/contact_sent.html",
                          _context(cpid, request.user, title="Request sent"))
    return render(request, "involvements/contact_request.html", _context(
        cpid, request.user, title="Ask to be put in touch", form=form))


@requires(Permission.LA_SENSITIVE_MANAGE)
@require_http_methods(["GET"])
def brokering_list(request: SignedInRequest) -> HttpResponse:
    done = request.GET.get("show") == "all"
    try:
        requests = brokering.work_list(request.user, include_done=done)
    except PermissionDenied as refused:
        return _refused(request, refused.message)
    return render(request, "involvements/brokering_list.html", {
        "title": "Requests to be put in touch", "requests": requests, "show_all": done,
        "format_cpid": format_contactpoint_id})


@requires(Permission.LA_SENSITIVE_MANAGE)
@require_http_methods(["GET", "POST"])
def brokering_request(request: SignedInRequest, pk: int) -> HttpResponse:
    form = ResolveForm(posted(request))
    if form.is_valid():
        try:
            brokering.resolve(request.user, pk, form.cleaned_data["status"], form.cleaned_data["note"],
                              keyring=get_keyring(), now=timezone.now())
        except PermissionDenied as refused:
            return _refused(request, refused.message)
        except ValidationError as refused:
            apply_error(form, refused, fallback="status")
        else:
            messages.success(request, "The request has been updated")
            return HttpResponseRedirect(reverse("brokering-requests"))
    try:
        opened = brokering.open_request(request.user, pk, keyring=get_keyring(), now=timezone.now())
    except PermissionDenied as refused:
        return _refused(request, refused.message)
    return render(request, "involvements/brokering_request.html", {
        "title": "Request to be put in touch", "opened": opened, "form": form,
        "cpid_display": format_contactpoint_id(opened.request.child.cpid)})

