"""Form pieces shared by every page: binding a form to what was posted, a GOV.UK date input, and domain errors
placed on the right field.

Every form a page posts is bound the same way, ``Form(posted(request))``, and acted on when
``form.is_valid()`` (never for a GET: the form is unbound)::

    form = ReasonForm(posted(request))
    if form.is_valid():
        ok, result = attempt(form, lambda: domain_function(..., form.cleaned_data["reason"]))
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from django import forms
from django.http import Http404, HttpRequest, QueryDict
from django.utils import timezone

from contactpoint.children.identifiers import normalise_contactpoint_id
from contactpoint.errors import ContactPointError, PermissionDenied, ValidationError


def posted(request: HttpRequest) -> QueryDict | None:
    """What a page's form is bound to: the data of a POST, even an empty one (so that a form of buttons or
    radios only is bound, and says what is missing); None for any other method (the form is shown unbound)."""
    return request.POST if request.method == "POST" else None


class DateWidget(forms.Widget):
    """Three boxes named ``<name>-day``, ``-month``, ``-year`` (the GOV.UK date input pattern)."""

    def value_from_datadict(self, data: Any, files: Any, name: str) -> dict[str, str]:
        return {part: (data.get(f"{name}-{part}") or "").strip() for part in ("day", "month", "year")}

    def format_value(self, value: Any) -> Any:
        if isinstance(value, date):
            return {"day": str(value.day), "month": str(value.month), "year": str(value.year)}
        return value


class GovukDateField(forms.Field):
    widget = DateWidget
    label: str  # always given (``__init__``), so the messages below can use it

    def __init__(self, *, label: str, past_only: bool = True, **kwargs: Any) -> None:
        super().__init__(label=label, **kwargs)
        self.past_only = past_only

    def prepare_value(self, value: Any) -> Any:
        # A form that starts from a date (a correction's form starts from the value the record holds) shows it in
        # the three boxes: the template reads the parts, not the date.
        return DateWidget().format_value(value)

    def to_python(self, value: Any) -> date | None:
        if not value or not any(value.values()):
            return None
        missing = [p for p in ("day", "month", "year") if not value.get(p)]
        name = self.label
        if missing:
            raise forms.ValidationError(f"{name} must include a {missing[0]}")
        try:
            day, month, year = int(value["day"]), int(value["month"]), int(value["year"])
            if year < 1000:
                raise ValueError
            result = date(year, month, day)
        except ValueError:
            raise forms.ValidationError(f"{name} must be a real date") from None
        return result

    def validate(self, value: date | None) -> None:
        if value is None and self.required:
            message = self.error_messages["required"]
            if message == forms.Field.default_error_messages["required"]:  # not given: say what to enter
                message = f"Enter {self.label[0].lower()}{self.label[1:]}"
            raise forms.ValidationError(message, code="required")
        if value is not None and self.past_only:
            if value > timezone.localdate():
                raise forms.ValidationError(f"{self.label} must be today or in the past")


def apply_error(form: forms.Form, error: ValidationError, fallback: str | None = None) -> None:
    """Show a domain ``ValidationError`` on its field (or the form as a whole)."""
    message = error.reason[0].upper() + error.reason[1:]
    field = error.field if error.field in form.fields else fallback
    form.add_error(field, message)


def attempt(form: forms.Form, action: Callable[[], Any],
            refused: tuple[type[ContactPointError], ...] = (PermissionDenied,)) -> tuple[bool, Any]:
    """Run a domain function for a valid form: ``(True, its result)``, or ``(False, None)`` with its refusal
    put on the form (a ``ValidationError`` on its field, any of ``refused`` in the error summary)."""
    try:
        return True, action()
    except ValidationError as error:
        apply_error(form, error)
    except refused as error:
        form.add_error(None, error.message)
    return False, None


def cpid_or_404(raw: str) -> str:
    """A ContactPoint ID from a URL, normalised; a malformed one is a page that does not exist."""
    try:
        return normalise_contactpoint_id(raw)
    except ValidationError:
        raise Http404 from None


class PageForm(forms.Form):
    """``?page=N`` of a paged list (anything else is the first page)."""

    page = forms.IntegerField(min_value=1, required=False)


def page_number(form: forms.Form) -> int:
    """The page a bound list form asks for: its ``page`` when the form is valid, else the first."""
    return (form.cleaned_data.get("page") or 1) if form.is_valid() else 1


def page_count(total: int, size: int) -> int:
    return max(1, -(-total // size))
