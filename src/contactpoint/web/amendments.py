"""Pages for a local authority's data managers to correct or complete a record (contactpoint.records.amendments).

    record page ─"Change"─► the value's form (new value + reason) ─► the change's page (confirmation)
                                                                    ├─► withdraw it
                                                                    └─► approve / reject (identifiers, four eyes)
    identifier changes awaiting approval ─► the change's page

Thin over the domain functions: which authority, four eyes, validation and audit all live there. A child or a change
another authority is responsible for is a 404 here, as if it did not exist.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from contactpoint.access.authentication import user_actor
from contactpoint.access.roles import Permission
from contactpoint.audit.actions import AuditAction
from contactpoint.audit.trail import record_event
from contactpoint.children.identifiers import format_contactpoint_id
from contactpoint.children.models import Child
from contactpoint.children.store import load_groups
from contactpoint.errors import LifecycleError, PermissionDenied
from contactpoint.records import amendments
from contactpoint.records.amendments import Field, Status
from contactpoint.records.models import Amendment
from contactpoint.vault.keyring import get_keyring
from contactpoint.web.forms import GovukDateField, attempt, cpid_or_404, posted
from contactpoint.web.guards import SignedInRequest, requires

REFUSED = (LifecycleError, PermissionDenied)
WORDS: dict[str, str] = {Field.NAME: "name", Field.DATE_OF_BIRTH: "date of birth", Field.GENDER: "gender",
         Field.ADDRESS: "address", Field.NHS_NUMBER: "NHS number", Field.UPN: "Unique Pupil Number",
         Field.ULN: "Unique Learner Number", Field.CARERS: "parents and carers", Field.EDUCATION: "educational setting",
         Field.GP: "GP practice"}


def _text(label: str, *, required: bool = False, help_text: str = "") -> forms.CharField:
    # The domain says what is missing or wrong (the same words as the API and the CLI).
    return forms.CharField(label=label, required=required, max_length=200, help_text=help_text,
                           error_messages={"required": f"Enter {label[0].lower()}{label[1:]}"})


class ChangeForm(forms.Form):
    """The inputs of one value (``amendments.INPUTS``) and the reason; fields in ``layout`` order."""

    def __init__(self, *args: Any, field: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.field_name = field
        layout: list[tuple[str, str]] = []
        if field == Field.NAME:
            self.fields["given_name"] = _text("Given name")
            self.fields["middle_names"] = _text("Middle names (optional)")
            self.fields["family_name"] = _text("Family name")
            layout += [("given_name", "text"), ("middle_names", "text"), ("family_name", "text")]
        elif field == Field.DATE_OF_BIRTH:
            self.fields["date_of_birth"] = GovukDateField(label="Date of birth",
                                                          help_text="For example, 27 3 2012")
            layout.append(("date_of_birth", "date"))
        elif field == Field.GENDER:
            self.fields["gender"] = forms.ChoiceField(
                label="Gender", widget=forms.RadioSelect,
                choices=[("female", "Female"), ("male", "Male"), ("not specified", "Not specified")],
                error_messages={"required": "Choose the gender", "invalid_choice": "Choose the gender"})
            layout.append(("gender", "radios"))
        elif field == Field.ADDRESS:
            self.fields["address_line_1"] = _text("Address line 1")
            self.fields["address_line_2"] = _text("Address line 2 (optional)")
            self.fields["town"] = _text("Town or city (optional)")
            self.fields["postcode"] = _text("Postcode")
            layout += [("address_line_1", "text"), ("address_line_2", "text"), ("town", "text"),
                       ("postcode", "text")]
        elif field == Field.NHS_NUMBER:
            self.fields["nhs_number"] = _text("NHS number")
            layout.append(("nhs_number", "text"))
        elif field == Field.UPN:
            self.fields["upn"] = _text("Unique Pupil Number (UPN)")
            layout.append(("upn", "text"))
        elif field == Field.ULN:
            self.fields["uln"] = _text("Unique Learner Number (ULN)")
            layout.append(("uln", "text"))
        elif field == Field.CARERS:
            for n in range(1, amendments.CARERS + 1):
                optional = "" if n == 1 else " (optional)"
                self.fields[f"carer_{n}_name"] = _text(f"Parent or carer {n}: name{optional}")
                self.fields[f"carer_{n}_relationship"] = _text(f"Parent or carer {n}: relationship (optional)",
                                                               help_text="For example, mother, father, foster carer")
                self.fields[f"carer_{n}_parental_responsibility"] = forms.ChoiceField(
                    label=f"Does parent or carer {n} have parental responsibility?", widget=forms.RadioSelect,
                    required=False, choices=[("yes", "Yes"), ("no", "No"), ("not known", "Not known")])
                self.fields[f"carer_{n}_phone"] = _text(f"Parent or carer {n}: phone (optional)")
                layout += [(f"carer_{n}_name", "text"), (f"carer_{n}_relationship", "text"),
                           (f"carer_{n}_parental_responsibility", "radios"), (f"carer_{n}_phone", "text")]
        elif field == Field.EDUCATION:
            self.fields["setting_urn"] = _text("The setting's URN", help_text="6 digits (or a 7-digit DfE number)")
            self.fields["setting_name"] = _text("The setting's name")
            self.fields["setting_start_date"] = GovukDateField(label="Start date (optional)", required=False,
                                                               help_text="For example, 5 9 2019")
            layout += [("setting_urn", "text"), ("setting_name", "text"), ("setting_start_date", "date")]
        else:
            self.fields["gp_practice_code"] = _text("The practice's ODS code", help_text="A letter and 5 digits")
            self.fields["gp_practice_name"] = _text("The practice's name")
            self.fields["gp_start_date"] = GovukDateField(label="Registered since (optional)", required=False,
                                                          help_text="For example, 1 6 2012")
            layout += [("gp_practice_code", "text"), ("gp_practice_name", "text"), ("gp_start_date", "date")]
        self.fields["reason"] = forms.CharField(
            label="Why are you changing it?", widget=forms.Textarea, required=False,
            max_length=amendments.REASON_MAX, help_text="For example, the document you saw or who told you")
        layout.append(("reason", "textarea"))
        self.layout = tuple(layout)

    def values(self) -> dict[str, str]:
        out = {}
        for name in amendments.INPUTS[self.field_name]:
            value = self.cleaned_data.get(name)
            out[name] = value.isoformat() if isinstance(value, date) else str(value or "")
        return out


_GROUP: dict[str, str] = {Field.NAME: "names", Field.DATE_OF_BIRTH: "birth", Field.GENDER: "birth",
                          Field.ADDRESS: "whereabouts", Field.CARERS: "carers", Field.EDUCATION: "education",
                          Field.GP: "gp"}


def _current(child: Child, field: str) -> dict[str, Any]:
    """The value the record holds now, to start the form from (only values the page itself shows)."""
    groups = load_groups(get_keyring(), child, [_GROUP.get(field, "identifiers")])
    if field == Field.NAME:
        n = groups["name"].value
        return {"given_name": n.given, "middle_names": n.middle, "family_name": n.family}
    if field == Field.DATE_OF_BIRTH:
        return {"date_of_birth": groups["date_of_birth"].value}
    if field == Field.GENDER:
        return {"gender": groups["gender"].value.value}
    if field == Field.CARERS:
        out: dict[str, Any] = {}
        for n, c in enumerate(groups["carers"][:amendments.CARERS], start=1):
            pr = c.value.parental_responsibility
            out |= {f"carer_{n}_name": c.value.name, f"carer_{n}_relationship": c.value.relationship,
                    f"carer_{n}_parental_responsibility": "yes" if pr else "no" if pr is False else "not known",
                    f"carer_{n}_phone": c.value.phone}
        return out
    if field in (Field.EDUCATION, Field.GP):
        item = groups[field]
        if item is None:
            return {}
        v = item.value
        if field == Field.EDUCATION:
            return {"setting_urn": v.urn, "setting_name": v.name, "setting_start_date": v.start_date}
        return {"gp_practice_code": v.code, "gp_practice_name": v.name, "gp_start_date": v.start_date}
    item = groups["whereabouts" if field == Field.ADDRESS else field]
    if item is None:
        return {}
    if field == Field.ADDRESS:
        a = item.value.address
        return {"address_line_1": a.line_1, "address_line_2": a.line_2, "town": a.town,
                "postcode": a.postcode} if a else {}
    return {field: item.value}


def amend_links(user: Any, view: Any) -> dict[str, dict]:
    """The record page's "Change" (and "Withdraw") links, for a data manager of the responsible authority only;
    none for a value the page withholds."""
    if not amendments.may_amend(user, view.responsible_la):
        return {}
    child = Child.objects.filter(cpid=view.cpid).first()
    if child is None:
        return {}
    current = amendments.in_effect(user, child)
    out = {}
    for field in amendments.INPUTS:
        if view.withheld and field in amendments.HIDDEN_WHEN_SHIELDED:
            continue
        words = WORDS[field]
        items = [{"href": reverse("child-amend", args=[view.cpid, field]), "text": "Change",
                  "visuallyHiddenText": words}]
        row = current.get(field)
        if row is not None:
            text = "Awaiting approval" if row.status == Status.PROPOSED else "Withdraw change"
            items.append({"href": reverse("amendment", args=[row.key]), "text": text,
                          "visuallyHiddenText": f": {words}"})
        out[field] = {"items": items}
    return out


@requires(Permission.LA_RECORDS_CORRECT)
@require_http_methods(["GET", "POST"])
def change_page(request: SignedInRequest, cpid: str, field: str) -> HttpResponse:
    cpid = cpid_or_404(cpid)
    if field not in amendments.INPUTS:
        raise Http404
    child = amendments.authority_child(request.user, cpid)
    if child.shielded and field in amendments.HIDDEN_WHEN_SHIELDED:
        raise Http404  # withheld on the record page: there is nothing here to change
    name = load_groups(get_keyring(), child, ["names"])["name"].value.display
    initial = None
    if request.method == "GET":  # the form starts from the value the record holds: a look at the record
        initial = _current(child, field)
        record_event(AuditAction.RECORD_VIEWED, actor=user_actor(request.user), keyring=get_keyring(),
                     at=timezone.now(), subjects=[cpid], reason="records management",
                     context={"page": "record change", "field": field})
    form = ChangeForm(posted(request), field=field, initial=initial)
    if form.is_valid():
        ok, made = attempt(form, lambda: amendments.amend(
            request.user, cpid, field, form.values(), form.cleaned_data.get("reason", ""),
            keyring=get_keyring(), now=timezone.now()), REFUSED)
        if ok:
            return HttpResponseRedirect(reverse("amendment", args=[made.key]))
    four_eyes = field in amendments.FOUR_EYES
    return render(request, "lifecycle/form.html", {
        "title": f"Change the {WORDS[field]}", "heading": f"Change {name}'s {WORDS[field]}",
        "button": "Send for approval" if four_eyes else "Save the change", "form": form, "errors": form.errors,
        "caption": f"ContactPoint ID {format_contactpoint_id(cpid)}", "warning": "",
        "intro": ("A second data manager of your authority must approve a change to an identifier before it has "
                  "any effect. " if four_eyes else "")
        + "Your value will be shown with your authority's name, yours and today's date, and used instead of the "
          "sources' until a source sends a newer value that agrees with it. A source that disagrees is asked to "
          "check its record.",
        "back": reverse("child-record", args=[cpid])})


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(
        label="Your decision", widget=forms.RadioSelect, choices=[("approve", "Approve"), ("reject", "Reject")],
        error_messages={"required": "Choose approve or reject", "invalid_choice": "Choose approve or reject"})


@requires(Permission.LA_RECORDS_CORRECT)
@require_http_methods(["GET", "POST"])
def amendment_page(request: SignedInRequest, key: str) -> HttpResponse:
    """One change: what it is and where it stands (the confirmation after making it); approve or reject it."""
    keyring = get_keyring()
    form = DecisionForm(posted(request))
    if form.is_valid():
        approve = form.cleaned_data["decision"] == "approve"
        ok, _ = attempt(form, lambda: amendments.decide(request.user, key, approve=approve, keyring=keyring,
                                                        now=timezone.now()), REFUSED)
        if ok:
            messages.success(request, "Change approved: it now applies." if approve else "Change rejected.")
            return HttpResponseRedirect(reverse("amendment", args=[key]))
    change = amendments.opened(request.user, key, keyring=keyring)
    child = change.row.child
    name = load_groups(keyring, child, ["names"])["name"].value.display
    record_event(AuditAction.RECORD_VIEWED, actor=user_actor(request.user), keyring=keyring, at=timezone.now(),
                 subjects=[child.cpid], reason="records management",
                 context={"page": "record change", "amendment": change.key})
    return render(request, "records/amendment.html", {
        "title": "Change to a record", "c": change, "name": name, "words": WORDS[change.row.field],
        "cpid": child.cpid, "cpid_display": format_contactpoint_id(child.cpid), "form": form,
        "errors": form.errors, "own": change.row.made_by_id == request.user.pk,
        # shielded since the change was made: its value is withheld like the record's
        "withheld": child.shielded and change.row.field in amendments.HIDDEN_WHEN_SHIELDED})


@requires(Permission.LA_RECORDS_CORRECT)
@require_http_methods(["POST"])
def withdraw_page(request: SignedInRequest, key: str) -> HttpResponse:
    try:
        was_aside = Amendment.objects.filter(key=key, status=Status.SET_ASIDE).exists()
        amendments.withdraw(request.user, key, keyring=get_keyring(), now=timezone.now())
        messages.success(request, "Change closed: the newer change applies." if was_aside
                         else "Change withdrawn: the sources' value applies again.")
    except LifecycleError as refused:
        messages.error(request, refused.message)
    return HttpResponseRedirect(reverse("amendment", args=[key]))


@requires(Permission.LA_RECORDS_CORRECT)
@require_http_methods(["GET"])
def awaiting_page(request: SignedInRequest) -> HttpResponse:
    # By ContactPoint ID, as the shielding work list: opening a change names the child, and that look is audited.
    waiting = amendments.awaiting_approval(request.user)
    return render(request, "records/amendments_awaiting.html", {
        "title": "Identifier changes awaiting approval", "waiting": waiting, "words": WORDS,
        "aside": amendments.set_aside(request.user),
        "fmt": format_contactpoint_id, "user": request.user})
