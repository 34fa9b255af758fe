"""Splitting a child's records apart, for a local authority's data managers: any link, whether the pipeline or a
person made it. Find the record by its ContactPoint ID, choose the source records that belong to another child,
and split them out (``matching.review.records_of`` and ``split_records``: audited)."""

from __future__ import annotations

from typing import cast

from django import forms
from django.contrib import messages
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_http_methods

from contactpoint.access.roles import Permission
from contactpoint.children.identifiers import format_contactpoint_id
from contactpoint.errors import NotFound, ReviewRefused
from contactpoint.matching import review
from contactpoint.vault.keyring import get_keyring
from contactpoint.web.forms import attempt, posted
from contactpoint.web.guards import SignedInRequest, requires


class FindForm(forms.Form):
    cpid = forms.CharField(label="ContactPoint ID", max_length=20,
                           error_messages={"required": "Enter the ContactPoint ID of the record to split"})


class SplitRecordsForm(forms.Form):
    records = forms.MultipleChoiceField(
        label="Which records belong to another child?", choices=(),
        error_messages={"required": "Choose the records that belong to another child"})
    note = forms.CharField(label="Why are you splitting them? (optional)", required=False,
                           max_length=review.NOTE_MAX, widget=forms.Textarea,
                           error_messages={"max_length": f"A note is at most {review.NOTE_MAX} characters"})

    def __init__(self, *args, choices: list[tuple[str, str]], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.MultipleChoiceField, self.fields["records"]).choices = choices


def _label(held: review.HeldBy) -> str:
    name = f"{held.given} {held.family}".strip() or "No name"
    born = held.date_of_birth.strftime("%-d %B %Y") if held.date_of_birth else "date of birth not known"
    return f"{held.source}: {name}, born {born} (received {held.received.strftime('%-d %B %Y')})"


@requires(Permission.LA_MATCH_REVIEW)
@require_http_methods(["GET", "POST"])
def split_records_page(request: SignedInRequest) -> HttpResponse:
    find = FindForm(request.GET or None)
    context: dict = {"title": "Split a record", "find": find, "child": None}
    if not (find.is_bound and find.is_valid()):
        return render(request, "review/split_records.html", context)
    keyring, now = get_keyring(), timezone.now()
    try:
        child, held = review.records_of(request.user, find.cleaned_data["cpid"], keyring=keyring, now=now)
    except (NotFound, ReviewRefused) as refused:
        find.add_error("cpid", refused.message)
        return render(request, "review/split_records.html", context)
    form = SplitRecordsForm(posted(request), choices=[(str(h.id), _label(h)) for h in held])
    if form.is_bound and form.is_valid():
        done, made = attempt(form, lambda: review.split_records(
            request.user, child.cpid, [int(i) for i in form.cleaned_data["records"]],
            note=form.cleaned_data["note"], keyring=keyring, now=now), refused=(ReviewRefused, NotFound))
        if done:
            messages.success(request, f"Split: {format_contactpoint_id(made.cpid)} is a record of its own, and "
                                      f"{format_contactpoint_id(child.cpid)} keeps the rest.")
            return HttpResponseRedirect(f"{reverse('review-split-records')}?{urlencode({'cpid': child.cpid})}")
    context |= {"child": child, "held": held, "form": form, "cpid": format_contactpoint_id(child.cpid)}
    return render(request, "review/split_records.html", context)
