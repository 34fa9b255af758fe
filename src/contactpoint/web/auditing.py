"""The auditor's workspace: alerts to acknowledge, investigate and resolve; the audit trail's health; access
reports for a child or a user, on screen or as CSV.

Thin over ``contactpoint.monitoring``: scope (a local authority auditor sees their area, a national auditor
everything) and the audit entries for every action are decided there. An alert or user outside the auditor's
scope is a 404, so that its existence is not revealed.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from contactpoint.access.roles import Permission
from contactpoint.audit.models import AuditEntry
from contactpoint.audit.trail import read_detail
from contactpoint.errors import ContactPointError, NotFound, ValidationError
from contactpoint.monitoring import alerts as alert_domain
from contactpoint.monitoring import reports
from contactpoint.monitoring.health import trail_health
from contactpoint.monitoring.models import AlertOutcome, AlertStatus
from contactpoint.monitoring.thresholds import MonitorSettings
from contactpoint.vault.keyring import get_keyring
from contactpoint.web.forms import apply_error, posted
from contactpoint.web.guards import SignedInRequest, requires

PAGE_SIZE = 50
REPORT_ROWS = 500  # on screen; the CSV has every row
STATUSES = (("active", "New and being investigated"), ("open", "New"), ("acknowledged", "Being investigated"),
            ("resolved", "Resolved"))


@requires(Permission.AUDIT_ALERTS)
@require_GET
def home(request: SignedInRequest) -> HttpResponse:
    status = request.GET.get("status", "active")
    if status not in dict(STATUSES):
        status = "active"
    found = alert_domain.alerts_in_scope(request.user)
    found = found.filter(status__in=[AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED]) if status == "active" \
        else found.filter(status=status)
    page = Paginator(found.order_by("-raised_at", "-id"), PAGE_SIZE).get_page(request.GET.get("page"))
    settings = MonitorSettings.from_env()
    health = trail_health()
    stale = health.checkpoints_stale(timezone.now(), settings)

    def href(number: int) -> str:
        params: dict[str, str | int] = {"status": status, "page": number}
        return "?" + urlencode(params)

    return render(request, "auditing/home.html", {
        "title": "Alerts", "page": page, "status": status, "statuses": STATUSES, "health": health,
        "checkpoints_stale": stale, "national": alert_domain.is_national(request.user),
        "previous_href": href(page.previous_page_number()) if page.has_previous() else None,
        "next_href": href(page.next_page_number()) if page.has_next() else None,
        "can_report": request.user.has(Permission.AUDIT_REPORTS)})


class ResolveForm(forms.Form):
    outcome = forms.ChoiceField(label="What did you find?", choices=AlertOutcome.choices,
                                widget=forms.RadioSelect,
                                error_messages={"required": "Choose what you found",
                                                "invalid_choice": "Choose what you found"})
    note = forms.CharField(label="What you found and did", widget=forms.Textarea,
                           max_length=alert_domain.NOTE_MAX,
                           help_text="Kept encrypted in the audit trail. At least 10 characters.",
                           error_messages={"required": "Say what you found and did"})


def _criteria(entry: AuditEntry) -> str:
    """What a search was for, for the auditor's eyes only (decrypted in memory)."""
    if not entry.detail or not entry.action.startswith("child.search"):
        return ""
    try:
        criteria = (read_detail(get_keyring(), entry) or {}).get("criteria") or {}
    except ContactPointError:
        return "(no longer readable)"
    return ", ".join(f"{k.replace('_', ' ')}: {v}" for k, v in sorted(criteria.items()))


def _alert_page(request: SignedInRequest, pk: int, form: ResolveForm | None = None,
                status: int = 200) -> HttpResponse:
    keyring, now = get_keyring(), timezone.now()
    alert = alert_domain.investigate(request.user, pk, keyring=keyring, now=now)
    shown = list(AuditEntry.objects.filter(seq__in=alert.entries).order_by("seq"))
    evidence = [reports.row(e, keyring) for e in shown]
    criteria = {e.seq: text for e in shown if (text := _criteria(e))}
    around = []
    if alert.subject_user:
        window = timedelta(hours=12)
        around = [reports.row(e, keyring) for e in AuditEntry.objects.filter(
            actor=alert.subject_user, at__gte=alert.occurred_at - window, at__lte=alert.occurred_at + window)
            .order_by("-seq")[:100]]
    note = ""
    if alert.resolved_seq:
        resolved = AuditEntry.objects.filter(seq=alert.resolved_seq).first()
        note = ((read_detail(keyring, resolved) or {}).get("note", "") if resolved else "")
    return render(request, "auditing/alert.html", {
        "title": alert.title, "alert": alert, "evidence": evidence, "criteria": criteria, "around": around,
        "note": note,
        "form": form or ResolveForm(), "errors": form.errors if form else None,
        "outcomes": dict(AlertOutcome.choices)}, status=status)


@requires(Permission.AUDIT_ALERTS)
@require_GET
def alert(request: SignedInRequest, pk: int) -> HttpResponse:
    return _alert_page(request, pk)


@requires(Permission.AUDIT_ALERTS)
@require_POST
def acknowledge(request: SignedInRequest, pk: int) -> HttpResponse:
    try:
        alert_domain.acknowledge(request.user, pk, keyring=get_keyring(), now=timezone.now())
        messages.success(request, "You have acknowledged the alert. Investigate it, then resolve it with "
                                  "what you found.")
    except ValidationError as error:
        messages.success(request, error.reason[0].upper() + error.reason[1:] + ".")
    return HttpResponseRedirect(reverse("audit-alert", args=[pk]))


@requires(Permission.AUDIT_ALERTS)
@require_POST
def resolve(request: SignedInRequest, pk: int) -> HttpResponse:
    form = ResolveForm(posted(request))
    if form.is_valid():
        try:
            alert_domain.resolve(request.user, pk, outcome=form.cleaned_data["outcome"],
                                 note=form.cleaned_data["note"], keyring=get_keyring(), now=timezone.now())
            messages.success(request, "The alert is resolved.")
            return HttpResponseRedirect(reverse("audit-alert", args=[pk]))
        except ValidationError as error:
            if error.field in form.fields:
                apply_error(form, error)
            else:
                form.add_error(None, error.reason[0].upper() + error.reason[1:])
    return _alert_page(request, pk, form, status=400)


# --- access reports -----------------------------------------------------------------------------------------

class ChildReportForm(forms.Form):
    cpid = forms.CharField(label="ContactPoint ID", max_length=20,
                           help_text="11 digits and a check character, for example 1234 5678 901X",
                           error_messages={"required": "Enter the child's ContactPoint ID"})


class UserReportForm(forms.Form):
    username = forms.CharField(label="Username", max_length=150,
                               error_messages={"required": "Enter a username"})


def _csv(rows, filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(reports.csv_lines(rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


def _report(request: HttpRequest, form_class, run: Any,
            page_title: str) -> HttpResponse | StreamingHttpResponse:
    form = form_class(request.GET or None)
    context: dict[str, Any] = {"title": page_title, "form": form, "errors": form.errors, "rows": None,
                               "child_form": ChildReportForm(), "user_form": UserReportForm()}
    context["child_form" if form_class is ChildReportForm else "user_form"] = form
    if form.is_bound and form.is_valid():
        as_csv = request.GET.get("format") == "csv"
        try:
            subject, rows, filename = run(form.cleaned_data, "csv" if as_csv else "html",
                                          None if as_csv else REPORT_ROWS)
        except NotFound as missing:
            form.add_error(None, missing.message)
        else:
            if as_csv:
                return _csv(rows, filename)
            context.update(subject=subject, rows=rows, limit=REPORT_ROWS,
                           csv_href="?" + urlencode({**request.GET.dict(), "format": "csv"}))
    return render(request, "auditing/reports.html", context, status=400 if form.errors else 200)


@requires(Permission.AUDIT_REPORTS)
@require_http_methods(["GET"])
def reports_page(request: SignedInRequest) -> HttpResponse:
    return render(request, "auditing/reports.html", {
        "title": "Access reports", "child_form": ChildReportForm(), "user_form": UserReportForm(),
        "rows": None})


@requires(Permission.AUDIT_REPORTS)
@require_http_methods(["GET"])
def child_report(request: SignedInRequest) -> HttpResponse | StreamingHttpResponse:
    def run(data, output, limit):
        cpid, rows = reports.child_report(request.user, data["cpid"], keyring=get_keyring(),
                                          now=timezone.now(), output=output, limit=limit)
        return {"kind": "child", "cpid": cpid}, rows, f"access-report-{cpid}.csv"

    return _report(request, ChildReportForm, run, "Who has seen a child's record")


@requires(Permission.AUDIT_REPORTS)
@require_http_methods(["GET"])
def user_report(request: SignedInRequest) -> HttpResponse | StreamingHttpResponse:
    def run(data, output, limit):
        subject, rows = reports.user_report(request.user, data["username"], keyring=get_keyring(),
                                            now=timezone.now(), output=output, limit=limit)
        return {"kind": "user", "user": subject}, rows, f"access-report-{subject.username}.csv"

    return _report(request, UserReportForm, run, "What a user did")
