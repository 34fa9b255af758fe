"""A data manager creates a record for a child no source knows (issue 19), thin over ``contactpoint.ingest.manual``:
validation, matching, the review queue, idempotence and audit all live there.

    "Create a record" (from the Shielding and retention work list) ─► the form (GOV.UK, error summary)
        ├─ matched nothing ─► the new child's record (asks the reason for looking, as every record does)
        └─ may be a child already there ─► "Sent for a decision" (the reference only: never who it may be)

The form carries a reference made when it is shown, so that pressing the button twice, or sending the page
again, makes one child (``manual.create_child``).
"""

from __future__ import annotations

import secrets
from datetime import date
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from contactpoint.access.roles import Permission
from contactpoint.errors import PermissionDenied
from contactpoint.ingest import manual
from contactpoint.vault.keyring import get_keyring
from contactpoint.web.forms import GovukDateField, attempt, posted
from contactpoint.web.guards import SignedInRequest, requires

SENT = "child_created_sent"  # the session key of the last "sent for a decision" outcome, for its page


def _text(label: str, *, required: bool = False, max_length: int = 200) -> forms.CharField:
    return forms.CharField(label=label, required=required, max_length=max_length,
                           error_messages={"required": f"Enter {label[0].lower()}{label[1:]}"})


RESPONSIBILITY = [("", "Not known"), ("yes", "Yes"), ("no", "No")]


class CreateForm(forms.Form):
    submission = forms.CharField(widget=forms.HiddenInput, required=False)
    given_name = _text("Given name", required=True)
    middle_names = _text("Middle names (optional)")
    family_name = _text("Family name", required=True)
    date_of_birth = GovukDateField(label="Date of birth", help_text="For example, 27 3 2019",
                                   error_messages={"required": "Enter the date of birth"})
    gender = forms.ChoiceField(
        label="Gender", widget=forms.RadioSelect,
        choices=[("female", "Female"), ("male", "Male"), ("not specified", "Not specified")],
        error_messages={"required": "Choose the gender", "invalid_choice": "Choose the gender"})
    address_line_1 = _text("Address line 1", required=True)
    address_line_2 = _text("Address line 2 (optional)")
    town = _text("Town or city (optional)")
    postcode = _text("Postcode", required=True, max_length=10)
    nhs_number = _text("NHS number (optional)", max_length=20)
    upn = _text("Unique Pupil Number (optional)", max_length=20)
    carer_1_name = _text("Name (optional)")
    carer_1_relationship = _text("Relationship to the child (optional)")
    carer_1_parental_responsibility = forms.ChoiceField(
        label="Has parental responsibility", widget=forms.RadioSelect, choices=RESPONSIBILITY, required=False)
    carer_1_phone = _text("Phone number (optional)", max_length=30)

    groups = (
        ("The child", (("given_name", "text"), ("middle_names", "text"), ("family_name", "text"),
                       ("date_of_birth", "date"), ("gender", "radios"))),
        ("Where the child lives", (("address_line_1", "text"), ("address_line_2", "text"), ("town", "text"),
                                   ("postcode", "text"))),
        ("Identifiers, if known", (("nhs_number", "text"), ("upn", "text"))),
        ("A parent or carer (optional)", (("carer_1_name", "text"), ("carer_1_relationship", "text"),
                                          ("carer_1_parental_responsibility", "radios"), ("carer_1_phone", "text"))),
    )

    def values(self) -> dict[str, str]:
        out = {}
        for name in manual.FIELDS:
            value = self.cleaned_data.get(name)
            out[name] = value.isoformat() if isinstance(value, date) else str(value or "")
        return out


def _check(form: CreateForm) -> bool:
    """Every problem the domain finds, each on its field (the same words as the API and the CLI), besides those
    the form found; whether there are none at all."""
    for field, reason in manual.problems(form.values(), today=timezone.localdate()):
        if field in form.fields and field not in form.errors:
            form.add_error(field, reason[0].upper() + reason[1:])
    return not form.errors


@requires(Permission.LA_RECORDS_CORRECT)
@require_http_methods(["GET", "POST"])
def create_page(request: SignedInRequest) -> HttpResponse:
    if not request.user.organisation.la_code:
        raise PermissionDenied("Only a local authority's data managers can create a child's record.")
    form = CreateForm(posted(request))
    # Every problem at once: the form's own (a missing box), then the domain's on the rest (a postcode, a check digit).
    if request.method == "POST":
        form.is_valid()
    if request.method == "POST" and _check(form):
        # A form sent without its reference (a script): a fresh one, so it is still made once.
        submission = form.cleaned_data.get("submission") or secrets.token_urlsafe(18)
        ok, made = attempt(form, lambda: manual.create_child(
            request.user, form.values(), submission=submission, keyring=get_keyring(), now=timezone.now()))
        if ok:
            if made.outcome == manual.Outcome.CREATED:
                messages.success(request, "The child's record has been created." if not made.repeated
                                 else "This record was created already: here it is.")
                return HttpResponseRedirect(reverse("child-record", args=[made.cpid]))
            request.session[SENT] = {"message": made.message, "reference": made.reference,
                                     "outcome": made.outcome.value}
            return HttpResponseRedirect(reverse("child-create-sent"))
    return render(request, "records/create.html", {"title": "Create a child's record", "form": form,
                                                   "errors": form.errors, "fresh": secrets.token_urlsafe(18)})


@requires(Permission.LA_RECORDS_CORRECT)
@require_http_methods(["GET"])
def sent_page(request: SignedInRequest) -> HttpResponse:
    sent: dict[str, Any] | None = request.session.get(SENT)
    if not sent:
        return HttpResponseRedirect(reverse("child-create"))
    return render(request, "records/create_sent.html", {"title": "Sent for a decision", "sent": sent})
