"""The review queue for data managers, and their sources' discrepancies: GOV.UK pages over
``contactpoint.matching.review`` and ``contactpoint.bestview.discrepancies``.

The queue and the history list IDs and reasons only; opening a pair decrypts both records and is audited (as
is every decision, in the domain functions). The discrepancies page lists a source's items as the source
reads them, with its answers and a link to each child the data manager may follow. Every page needs
``LA_MATCH_REVIEW`` (discrepancies: ``LA_DISCREPANCIES``) and shows only the user's own local authority's
work."""

from __future__ import annotations

from typing import cast

from django import forms
from django.contrib import messages
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_http_methods

from contactpoint.access.authentication import user_actor
from contactpoint.access.models import SourceSystem
from contactpoint.access.roles import Permission
from contactpoint.bestview import discrepancies
from contactpoint.bestview.models import Discrepancy
from contactpoint.children.identifiers import format_contactpoint_id
from contactpoint.errors import PermissionDenied, ReviewRefused, ValidationError
from contactpoint.matching import review
from contactpoint.vault.keyring import get_keyring
from contactpoint.web.forms import PageForm, apply_error, page_count, page_number, posted
from contactpoint.web.guards import SignedInRequest, requires

PAGE_SIZE = 25
SHOW_CHOICES = [(review.Show.PENDING.value, "Waiting (open and deferred)"), (review.Show.OPEN.value, "Open"),
                (review.Show.DEFERRED.value, "Deferred"), (review.Show.DECIDED.value, "Decided")]
DECISION_CHOICES = [
    (review.Decision.LINK.value, "Link: they are the same child"),
    (review.Decision.KEEP_APART.value, "Keep apart: they are different children"),
    (review.Decision.DEFER.value, "Defer: I need to find out more"),
]
DONE = {"link": "Pair {id} linked: the two records are now one.", "keep_apart": "Pair {id} kept apart.",
        "defer": "Pair {id} deferred. It stays in the queue."}


class QueueFilter(forms.Form):
    show = forms.ChoiceField(label="Show", choices=SHOW_CHOICES, required=False)
    why = forms.ChoiceField(label="Why it was queued", choices=[("", "Any reason")], required=False)
    page = forms.IntegerField(min_value=1, required=False)

    def __init__(self, *args, whys: list[str], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["why"]).choices = [("", "Any reason"),
                                                              *((w, w[0].upper() + w[1:]) for w in whys)]


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(label="Are these the same child?", choices=DECISION_CHOICES,
                                 widget=forms.RadioSelect,
                                 error_messages={"required": "Choose link, keep apart or defer",
                                                 "invalid_choice": "Choose link, keep apart or defer"})
    note = forms.CharField(label="Note (optional for link and keep apart)", required=False,
                           max_length=review.NOTE_MAX, widget=forms.Textarea,
                           help_text="What you checked, or what would settle it. Needed to defer.",
                           error_messages={"max_length": f"A note is at most {review.NOTE_MAX} characters"})


class SplitForm(forms.Form):
    note = forms.CharField(label="Why are you splitting this merge?", required=False,
                           max_length=review.NOTE_MAX, widget=forms.Textarea,
                           error_messages={"max_length": f"A note is at most {review.NOTE_MAX} characters"})


@requires(Permission.LA_MATCH_REVIEW)
@require_http_methods(["GET"])
def queue_page(request: SignedInRequest) -> HttpResponse:
    whys = review.queue(request.user, limit=0).whys
    form = QueueFilter(request.GET or None, whys=whys)
    show, why = review.Show.PENDING, ""
    if form.is_bound and form.is_valid():
        show = review.Show(form.cleaned_data["show"] or review.Show.PENDING)
        why = form.cleaned_data["why"]
    page = page_number(form)
    listed = review.queue(request.user, show=show, why=why, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE)
    pages = page_count(listed.count, PAGE_SIZE)
    query = {"show": show.value, "why": why}
    return render(request, "review/queue.html", {
        "title": "Review matches", "form": form, "queue": listed, "show": show, "why": why, "page": page,
        "pages": pages, "format_cpid": format_contactpoint_id,
        "prev_url": f"?{urlencode(query | {'page': page - 1})}" if page > 1 else None,
        "next_url": f"?{urlencode(query | {'page': page + 1})}" if page < pages else None,
        "show_label": dict(SHOW_CHOICES)[show.value]})


@requires(Permission.LA_MATCH_REVIEW)
@require_http_methods(["GET", "POST"])
def pair_page(request: SignedInRequest, pk: int) -> HttpResponse:
    try:
        return _pair_page(request, pk)
    except PermissionDenied as refused:  # a pair the user's own hand-made record is in: back to the queue
        messages.error(request, refused.message)
        return HttpResponseRedirect(reverse("review-queue"))


def _pair_page(request: SignedInRequest, pk: int) -> HttpResponse:
    form = DecisionForm(posted(request))
    if form.is_valid():
        decision = form.cleaned_data["decision"]
        try:
            review.decide(request.user, pk, decision, note=form.cleaned_data["note"], keyring=get_keyring(),
                          now=timezone.now())
        except ValidationError as error:
            apply_error(form, error)
        except ReviewRefused as refused:
            form.add_error(None, refused.message)
        else:
            messages.success(request, DONE[decision].format(id=pk))
            return HttpResponseRedirect(reverse("review-queue"))
    pair = review.show(request.user, pk, keyring=get_keyring(), now=timezone.now())
    return render(request, "review/pair.html", {
        "title": f"Pair {pk}: are these the same child?", "pair": pair, "form": form, "errors": form.errors,
        "format_cpid": format_contactpoint_id})


@requires(Permission.LA_MATCH_REVIEW)
@require_http_methods(["GET"])
def history_page(request: SignedInRequest) -> HttpResponse:
    page = page_number(PageForm(request.GET))
    count, entries = review.history(request.user, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE)
    pages = page_count(count, PAGE_SIZE)
    return render(request, "review/history.html", {
        "title": "Decisions on matches", "count": count, "entries": entries, "page": page, "pages": pages,
        "format_cpid": format_contactpoint_id,
        "prev_url": f"?page={page - 1}" if page > 1 else None,
        "next_url": f"?page={page + 1}" if page < pages else None})


@requires(Permission.LA_MATCH_REVIEW)
@require_http_methods(["GET", "POST"])
def split_page(request: SignedInRequest, pk: int) -> HttpResponse:
    merge = review.merges_for(request.user).select_related("survivor", "absorbed").filter(pk=pk).first()
    if merge is None:
        raise Http404
    form = SplitForm(posted(request))
    error = None
    if form.is_valid():
        try:
            review.split(request.user, pk, note=form.cleaned_data["note"], keyring=get_keyring(),
                         now=timezone.now())
        except ValidationError as invalid:
            apply_error(form, invalid, fallback="note")
        except ReviewRefused as refused:
            error = refused.message
            form.add_error(None, error)
        else:
            messages.success(request, f"Merge {pk} split: {format_contactpoint_id(merge.absorbed.cpid)} is a "
                                      "record of its own again.")
            return HttpResponseRedirect(reverse("review-history"))
    return render(request, "review/split.html", {
        "title": "Split a merge", "merge": merge, "form": form, "errors": form.errors,
        "format_cpid": format_contactpoint_id})


# --- discrepancies of the authority's sources -------------------------------------------------------------


class DiscrepancyFilter(forms.Form):
    source = forms.CharField(required=False, widget=forms.HiddenInput)
    field = forms.ChoiceField(label="Field", choices=[("", "Any field")], required=False)
    kind = forms.ChoiceField(label="Kind", required=False,
                             choices=[("", "Any kind"), *Discrepancy.Kind.choices])
    state = forms.ChoiceField(label="Source's answer", required=False,
                              choices=[("", "Any answer"), *Discrepancy.State.choices])
    page = forms.IntegerField(min_value=1, required=False)

    def __init__(self, *args, fields: list[str], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        field = cast(forms.ChoiceField, self.fields["field"])
        field.choices = [("", "Any field"), *((f, _field_words(f)) for f in fields)]


def _field_words(field: str) -> str:
    words = discrepancies.FIELD_WORDS.get(field, field.replace("_", " "))
    return words[0].upper() + words[1:]


@requires(Permission.LA_DISCREPANCIES)
@require_http_methods(["GET"])
def discrepancies_page(request: SignedInRequest) -> HttpResponse:
    """The open discrepancy items of the sources registered in the user's local authority (its own systems
    and its schools'), as each source reads them, a page at a time and filtered, with the source's answer
    and a link to each child the user may follow (``fetch_report`` with ``reader``)."""
    la = request.user.organisation.la_code
    sources = list(SourceSystem.objects.filter(organisation__la_code=la).order_by("code")) if la else []
    chosen = next((s for s in sources if s.code == request.GET.get("source")), None)
    context: dict = {"title": "Discrepancies", "sources": sources, "chosen": chosen, "report": None}
    if chosen is not None:
        form = DiscrepancyFilter(request.GET, fields=discrepancies.fields(chosen.code))
        filters = discrepancies.EVERY_ITEM
        if form.is_valid():
            filters = discrepancies.Filters(form.cleaned_data["field"], form.cleaned_data["kind"],
                                            form.cleaned_data["state"])
        page = page_number(form)
        report = discrepancies.fetch_report(chosen.code, actor=user_actor(request.user),
                                            keyring=get_keyring(), now=timezone.now(), filters=filters,
                                            offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE,
                                            reader=request.user)
        pages = page_count(report.total, PAGE_SIZE)
        query = {"source": chosen.code, **filters.chosen()}
        context |= {
            "form": form, "report": report, "filtered": bool(filters.chosen()), "page": page, "pages": pages,
            "states": dict(Discrepancy.State.choices), "field_words": _field_words,
            "format_cpid": format_contactpoint_id,
            "prev_url": f"?{urlencode(query | {'page': page - 1})}" if page > 1 else None,
            "next_url": f"?{urlencode(query | {'page': page + 1})}" if page < pages else None}
    return render(request, "review/discrepancies.html", context)
