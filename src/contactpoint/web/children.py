"""Finding a child and opening their record: GOV.UK pages over ``contactpoint.search.service`` and
``contactpoint.records.view``.

Criteria travel in POST bodies only (never in URLs, so never in logs or browser history). Opening a record
needs a reason, kept in the session for that child for a short while so that the record page can be reloaded;
every render is a view and is audited."""

from __future__ import annotations

import time

from django import forms
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from contactpoint.access import sessions
from contactpoint.access.reasons import LABELS, OTHER_MAX, Reason, StatedReason, parse_reason, reasons_for
from contactpoint.access.roles import Permission
from contactpoint.children.identifiers import format_contactpoint_id, normalise_contactpoint_id
from contactpoint.config import get_settings
from contactpoint.errors import PermissionDenied, SearchRefused, ValidationError
from contactpoint.records.involvements import on_la_team
from contactpoint.records.view import child_name, override_shielding, view_record
from contactpoint.search.criteria import parse_criteria
from contactpoint.search.service import search
from contactpoint.vault.keyring import get_keyring
from contactpoint.web.amendments import amend_links
from contactpoint.web.errors import paused
from contactpoint.web.forms import GovukDateField, apply_error, cpid_or_404, posted
from contactpoint.web.guards import SignedInRequest, requires

REASON_CHOICES = [(r.value, LABELS[r]) for r in Reason]  # the most any role is offered (a data manager)
GENDER_CHOICES = [("", "Any"), ("female", "Female"), ("male", "Male"), ("not specified", "Not specified")]
VIEW_REASON_SECONDS = 15 * 60


class ReasonForm(forms.Form):
    reason = forms.ChoiceField(label="Why do you need to find this child?", choices=REASON_CHOICES,
                               widget=forms.RadioSelect, error_messages={
                                   "required": "Choose why you need to find this child"})
    reason_text = forms.CharField(label="Say why", required=False, max_length=OTHER_MAX,
                                  help_text="Only if you chose Other")

    def __init__(self, *args, role_code: str | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.role_code = role_code
        if role_code is not None:  # offer only the reasons this role may give; parse_reason refuses the rest
            self.fields["reason"].choices = [(r.value, LABELS[r]) for r in reasons_for(role_code)]  # type: ignore[attr-defined]

    def stated(self) -> StatedReason:
        try:
            return parse_reason(self.cleaned_data.get("reason"), self.cleaned_data.get("reason_text"),
                                role_code=self.role_code)
        except ValidationError as error:
            apply_error(self, error, fallback="reason")
            raise


class SearchForm(ReasonForm):
    given = forms.CharField(label="Given name", required=False, max_length=101,
                            help_text="You can end a name with * after at least 2 letters")
    family = forms.CharField(label="Family name", required=False, max_length=101)
    birthdate = GovukDateField(label="Date of birth", required=False)
    gender = forms.ChoiceField(label="Gender", choices=GENDER_CHOICES, required=False,
                               widget=forms.RadioSelect)
    postcode = forms.CharField(label="Postcode", required=False, max_length=10)
    nhs_number = forms.CharField(label="NHS number", required=False, max_length=14)
    upn = forms.CharField(label="Unique pupil number (UPN)", required=False, max_length=16)
    contactpoint_id = forms.CharField(label="ContactPoint ID", required=False, max_length=16)


def _reasons(request: HttpRequest) -> dict:
    return request.session.setdefault("view_reasons", {})


def _remember_reason(request: HttpRequest, cpid: str, stated: StatedReason) -> None:
    reasons = {k: v for k, v in _reasons(request).items() if time.time() - v["at"] < VIEW_REASON_SECONDS}
    reasons[cpid] = {"reason": stated.reason.value, "text": stated.text, "at": time.time()}
    request.session["view_reasons"] = reasons


@requires(Permission.CHILD_SEARCH)
@require_http_methods(["GET", "POST"])
def search_page(request: SignedInRequest) -> HttpResponse:
    form = SearchForm(posted(request), role_code=request.user.role_code)
    result = None
    if form.is_valid():
        data = form.cleaned_data
        try:
            stated = form.stated()
            criteria = parse_criteria(
                family=data["family"], given=data["given"], birthdate=data["birthdate"],
                gender=data["gender"], postcode=data["postcode"], nhs_number=data["nhs_number"],
                upn=data["upn"],
                contactpoint_id=data["contactpoint_id"], today=timezone.localdate())
            result = search(request.user, criteria, stated, keyring=get_keyring(), now=timezone.now(),
                            limits=get_settings().search)
        except ValidationError as error:
            if not form.errors:
                apply_error(form, error)
        except SearchRefused as refused:
            form.add_error(None, refused.message)
    return render(request, "children/search.html", {
        "title": "Find a child", "form": form, "result": result, "format_cpid": format_contactpoint_id})


@requires(Permission.CHILD_VIEW)
@require_http_methods(["GET", "POST"])
def record_page(request: SignedInRequest, cpid: str) -> HttpResponse:
    cpid = _asked_for(cpid)
    if request.method == "POST":  # stating the reason (from search results, or the reason form below)
        form = ReasonForm(posted(request), role_code=request.user.role_code)
        if form.is_valid():
            try:
                _remember_reason(request, cpid, form.stated())
                return HttpResponseRedirect(reverse("child-record", args=[cpid]))
            except ValidationError:
                pass
        return render(request, "children/reason.html", {"title": "Why do you need this record?", "form": form,
                                                         "cpid": cpid})
    remembered = _reasons(request).get(cpid)
    if not remembered or time.time() - remembered["at"] > VIEW_REASON_SECONDS:
        return render(request, "children/reason.html", {"title": "Why do you need this record?",
                                                         "form": ReasonForm(role_code=request.user.role_code),
                                                         "cpid": cpid})
    stated = StatedReason(Reason(remembered["reason"]), remembered["text"])
    try:
        view = view_record(request.user, cpid, stated, keyring=get_keyring(), now=timezone.now(),
                           overridden=cpid in sessions.overrides(request))
    except SearchRefused as refused:  # too many different children looked up: the message says until when
        return paused(request, refused.message)
    return render(request, "children/record.html", {
        "title": "Child's record", "view": view, "record": view.record, "reason": stated,
        "cpid_display": format_contactpoint_id(view.cpid),
        "merged_from_display": format_contactpoint_id(view.merged_from) if view.merged_from else "",
        "today": timezone.localdate(),
        "can_override": request.user.has(Permission.CHILD_SHIELD_OVERRIDE)
        and stated.reason == Reason.CHILD_PROTECTION,
        "can_record": request.user.has(Permission.CHILD_INVOLVEMENT),
        "la_team": on_la_team(request.user, view.responsible_la),
        "amend_links": amend_links(request.user, view)})


def _asked_for(raw: str) -> str:
    """The ContactPoint ID in the URL, normalised; anything else as it came (its first 32 characters), so that
    ``view_record`` audits it as not found once a reason is given, as it does an unknown ID: typing at IDs is
    how one would guess at them, mistyped or not."""
    try:
        return normalise_contactpoint_id(raw)
    except ValidationError:
        return raw[:32]


@requires(Permission.CHILD_SHIELD_OVERRIDE)
@require_http_methods(["GET", "POST"])
def override_page(request: SignedInRequest, cpid: str) -> HttpResponse:
    cpid = cpid_or_404(cpid)
    remembered = _reasons(request).get(cpid)
    if not remembered:
        return HttpResponseRedirect(reverse("child-record", args=[cpid]))
    stated = StatedReason(Reason(remembered["reason"]), remembered["text"])
    error = None
    if request.method == "POST":
        try:
            override_shielding(request.user, cpid, stated, keyring=get_keyring(), now=timezone.now())
        except PermissionDenied as refused:
            error = refused.message
        else:
            state = request.session.get(sessions.STATE) or {}
            state["override"] = sorted(set(state.get("override", [])) | {cpid})
            request.session[sessions.STATE] = state
            return HttpResponseRedirect(reverse("child-record", args=[cpid]))
    return render(request, "children/override.html", {"title": "Override shielding", "cpid": cpid,
                                                       "error": error, "reason": stated,
                                                       "name": child_name(request.user, cpid, keyring=get_keyring()),
                                                       "cpid_display": format_contactpoint_id(cpid)})
