"""Pages for local authority data managers: moves between authorities (contactpoint.lifecycle.moves) and
children missing education (contactpoint.lifecycle.education).

    moves and hand-overs ─► a reported move of a shielded child ─► hand over / keep
    children missing education (paged) ─► the whole list as CSV

Thin over the domain functions. The list says only that a shielded child's move was reported, never where to;
the reported authority is shown on the decision page alone, to those who may see a shielded record's hidden
details, each look audited (lifecycle.moves).
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpResponse, HttpResponseRedirect
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
from contactpoint.lifecycle import education, moves
from contactpoint.vault.keyring import get_keyring
from contactpoint.web.forms import attempt, posted
from contactpoint.web.guards import SignedInRequest, requires
from contactpoint.web.labels import la_name


class MoveForm(forms.Form):
    decision = forms.ChoiceField(label="What do you want to do?",
                                 choices=[("hand_over", "Hand the child over to the reported authority"),
                                          ("keep", "Keep the child: your authority stays responsible")],
                                 widget=forms.RadioSelect,
                                 error_messages={"required": "Choose hand over or keep"})


def _name(keyring, child: Child) -> str:
    return load_groups(keyring, child, ["names"])["name"].value.display


@requires(Permission.LA_LIFECYCLE_MANAGE)
@require_http_methods(["GET"])
def moves_page(request: SignedInRequest) -> HttpResponse:
    la = request.user.organisation.la_code
    keyring, now = get_keyring(), timezone.now()
    reports, handed = moves.open_reports(la), moves.hand_overs(la)
    # Children who left the authority are named by ID only: their records are another authority's now.
    names = {c.pk: _name(keyring, c) for c in {r.child for r in reports} | {h.child for h in handed}
             if c.responsible_la == la}
    record_event(AuditAction.HAND_OVERS_VIEWED, actor=user_actor(request.user), keyring=keyring, at=now,
                 subjects=sorted({r.child.cpid for r in reports} | {h.child.cpid for h in handed}),
                 reason="records management")
    moves.mark_hand_overs_read(request.user, handed, now=now)
    return render(request, "lifecycle/moves.html", {
        "title": "Moves and hand-overs", "reports": reports, "handed": handed, "names": names, "la": la,
        "fmt": format_contactpoint_id, "la_name": la_name,
        "can_decide": request.user.has(Permission.LA_SHIELD_HIDDEN_VIEW)})


@requires(Permission.LA_SHIELD_HIDDEN_VIEW)
@require_http_methods(["GET", "POST"])
def move_page(request: SignedInRequest, pk: int) -> HttpResponse:
    keyring, now = get_keyring(), timezone.now()
    form = MoveForm(posted(request))
    if form.is_valid():
        hand_over = form.cleaned_data["decision"] == "hand_over"
        ok, _ = attempt(form, lambda: moves.decide(request.user, pk, hand_over=hand_over, keyring=keyring,
                                                   now=now), (LifecycleError, PermissionDenied))
        if ok:
            messages.success(request, "Handed over: both authorities' teams have a hand-over notice."
                             if hand_over else "Kept: your authority stays responsible. Nothing else changed.")
            return HttpResponseRedirect(reverse("lifecycle-moves"))
    report, reported = moves.reported_la(request.user, pk, keyring=keyring, now=now)
    return render(request, "lifecycle/move.html", {
        "title": "Reported move", "report": report, "name": _name(keyring, report.child),
        "reported": la_name(reported), "form": form, "errors": form.errors,
        "cpid_display": format_contactpoint_id(report.child.cpid)})


# --- children missing education (contactpoint.lifecycle.education) -----------------------------------------

@requires(Permission.LA_LIFECYCLE_MANAGE)
@require_http_methods(["GET"])
def missing_education_page(request: SignedInRequest) -> HttpResponse:
    try:
        page = max(int(request.GET.get("page", "1")), 1)
    except ValueError:
        page = 1
    today = timezone.localdate()
    shown, total = education.missing_page(request.user, keyring=get_keyring(), now=timezone.now(), page=page)
    pages = max((total + education.PAGE_SIZE - 1) // education.PAGE_SIZE, 1)
    here = reverse("lifecycle-missing-education")
    return render(request, "lifecycle/missing_education.html", {
        "title": "Children missing education", "shown": shown, "total": total, "today": today,
        "fmt": format_contactpoint_id, "page": page, "pages": pages,
        "previous_href": f"{here}?page={page - 1}" if page > 1 else None,
        "next_href": f"{here}?page={page + 1}" if page < pages else None})


@requires(Permission.LA_LIFECYCLE_MANAGE)
@require_http_methods(["GET"])
def missing_education_csv(request: SignedInRequest) -> HttpResponse:
    body = education.missing_csv(request.user, keyring=get_keyring(), now=timezone.now())
    response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="children-missing-education.csv"'
    return response
