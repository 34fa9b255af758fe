"""Our form macros write GOV.UK Frontend's markup directly (they are several times cheaper than the
govuk-frontend-jinja macros, which were half the CPU of a search). Here each is held to the markup the package's
macro gives for the same field, in any state: any label, hint, value and error text, any width class, checked
item, input type and attributes. Markup is compared as parsed trees (whitespace between tags and attribute
order do not matter; everything else does)."""

from __future__ import annotations

import pytest
from django import forms
from django.template import engines
from hypothesis import given, settings
from hypothesis import strategies as st
from jinja2 import ChoiceLoader, DictLoader
from lxml import html as lxml_html

from contactpoint.web.children import SearchForm
from contactpoint.web.forms import GovukDateField

# How the pages rendered these fields before: govuk-frontend-jinja's macros, given what our wrappers gave them.
REFERENCE = """
{% from "govuk_frontend_jinja/components/input/macro.html" import govukInput %}
{% from "govuk_frontend_jinja/components/radios/macro.html" import govukRadios %}
{% from "govuk_frontend_jinja/components/date-input/macro.html" import govukDateInput %}

{% macro text(field, classes="", type="text", autocomplete=None, spellcheck=False, input_mode=None) -%}
  {{ govukInput({
      "label": {"text": field.label, "classes": "govuk-label--s"},
      "hint": {"text": field.help_text} if field.help_text else None,
      "id": field.auto_id, "name": field.html_name, "type": type,
      "value": field.value() if field.value() is not none and type != "password" else "",
      "classes": classes, "autocomplete": autocomplete or "off", "spellcheck": spellcheck,
      "inputmode": input_mode,
      "errorMessage": {"text": field.errors[0]} if field.errors else None,
  }) }}
{%- endmacro %}

{% macro radios(field, inline=False, legend_classes="govuk-fieldset__legend--s") -%}
  {%- set items = [] -%}
  {%- for value, label in field.field.choices if value -%}
    {%- do items.append({"value": value, "text": label, "checked": (value|string) == (field.value()|string)}) -%}
  {%- endfor -%}
  {{ govukRadios({
      "name": field.html_name, "idPrefix": field.auto_id,
      "classes": "govuk-radios--inline" if inline else "",
      "fieldset": {"legend": {"text": field.label, "classes": legend_classes}},
      "hint": {"text": field.help_text} if field.help_text else None,
      "items": items,
      "errorMessage": {"text": field.errors[0]} if field.errors else None,
  }) }}
{%- endmacro %}

{% macro date(field) -%}
  {%- set parts = field.value() if field.value() is mapping else {} -%}
  {%- set bad = "govuk-input--error" if field.errors else "" -%}
  {{ govukDateInput({
      "id": field.auto_id, "namePrefix": field.html_name,
      "fieldset": {"legend": {"text": field.label, "classes": "govuk-fieldset__legend--s"}},
      "hint": {"text": field.help_text or "For example, 27 3 2015"},
      "errorMessage": {"text": field.errors[0]} if field.errors else None,
      "items": [
        {"name": "day", "label": "Day", "classes": "govuk-input--width-2 " ~ bad, "value": parts.get("day", "")},
        {"name": "month", "label": "Month", "classes": "govuk-input--width-2 " ~ bad, "value": parts.get("month", "")},
        {"name": "year", "label": "Year", "classes": "govuk-input--width-4 " ~ bad, "value": parts.get("year", "")},
      ],
  }) }}
{%- endmacro %}
"""

REFERENCE_REASONS = """
{% from "govuk_frontend_jinja/components/radios/macro.html" import govukRadios %}
{% from "govuk_frontend_jinja/components/input/macro.html" import govukInput %}
{% set other_html %}
  {{ govukInput({"id": "id_reason_text", "name": "reason_text", "label": {"text": "Say why"},
                 "value": form.reason_text.value() or "", "classes": "govuk-!-width-full",
                 "errorMessage": {"text": form.reason_text.errors[0]} if form.reason_text.errors else None}) }}
{% endset %}
{% set items = [] %}
{% for value, label in form.fields.reason.choices %}
  {% do items.append({"value": value, "text": label, "checked": value == form.reason.value(),
                      "conditional": {"html": other_html} if value == "other" else None}) %}
{% endfor %}
{{ govukRadios({"name": "reason", "idPrefix": "id_reason",
  "fieldset": {"legend": {"text": legend or form.fields.reason.label, "classes": "govuk-fieldset__legend--m"}},
  "hint": {"text": "Your reason is recorded with your search and checked for misuse."},
  "errorMessage": {"text": form.reason.errors[0]} if form.reason.errors else None, "items": items}) }}
"""


@pytest.fixture(scope="module")
def env():
    base = engines["jinja2"].env
    return base.overlay(loader=ChoiceLoader([DictLoader({"reference.html": REFERENCE,
                                                         "reference_reasons.html": REFERENCE_REASONS}),
                                             base.loader]))


def _tree(markup: str):
    """A comparable form of some HTML: tags, attributes, and text with runs of whitespace made one space,
    whitespace-only text between tags dropped, and whitespace at the ends of an element's own text dropped; the
    space between an inline element and the text after it ("Error:</span> Name is wrong") is kept."""

    def norm(text: str | None) -> str:
        return " ".join((text or "").split())

    def tail(text: str | None) -> str:
        words = norm(text)
        return (" " + words) if words and text[0].isspace() else words

    def walk(el):
        attrs = {k: (" ".join(v.split()) if k == "class" else v) for k, v in el.attrib.items()}
        return (el.tag, sorted(attrs.items()), norm(el.text), [walk(c) for c in el], tail(el.tail))

    return [walk(el) if not isinstance(el, str) else norm(el) for el in lxml_html.fragments_fromstring(markup)]


def _both(env, call: str, **context) -> tuple[list, list]:
    ours = env.from_string('{% import "forms.html" as f %}' + call).render(**context)
    theirs = env.from_string('{% import "reference.html" as f %}' + call).render(**context)
    return _tree(ours), _tree(theirs)


_words = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=20)
_optional = st.one_of(st.none(), _words.filter(str.strip))


def _form(label, hint, error, value, choices=None, field_kind="text", required=False):
    class Probe(forms.Form):
        if field_kind == "text":
            field = forms.CharField(label=label, help_text=hint or "", required=required)
        elif field_kind == "radios":
            field = forms.ChoiceField(label=label, help_text=hint or "", choices=choices, required=required,
                                      widget=forms.RadioSelect)
        else:
            field = GovukDateField(label=label, help_text=hint or "", required=required)

    form = Probe(data=value)
    form.is_valid()
    if error:
        form.add_error("field", error)
    return form


@settings(max_examples=80, deadline=None)
@given(label=_words.filter(str.strip), hint=_optional, error=_optional, value=_words,
       classes=st.sampled_from(["", "govuk-input--width-10", "govuk-!-width-two-thirds"]),
       kind=st.sampled_from(["text", "email", "password"]),
       autocomplete=st.sampled_from([None, "email", "one-time-code"]),
       input_mode=st.sampled_from([None, "numeric"]))
def test_text_input_markup_is_govuk_frontends(env, label, hint, error, value, classes, kind, autocomplete, input_mode):
    form = _form(label, hint, error, {"field": value})
    ours, theirs = _both(env, "{{ f.text(form.field, classes=classes, type=kind, autocomplete=autocomplete, "
                              "input_mode=input_mode) }}", form=form, classes=classes, kind=kind,
                         autocomplete=autocomplete, input_mode=input_mode)
    assert ours == theirs


@settings(max_examples=60, deadline=None)
@given(label=_words.filter(str.strip), hint=_optional, error=_optional,
       choices=st.lists(st.tuples(st.from_regex(r"[a-z ]{1,8}", fullmatch=True), _words.filter(str.strip)),
                        min_size=1, max_size=5, unique_by=lambda c: c[0]),
       pick=st.integers(min_value=-1, max_value=5), inline=st.booleans(),
       legend=st.sampled_from(["govuk-fieldset__legend--s", "govuk-fieldset__legend--m"]))
def test_radios_markup_is_govuk_frontends(env, label, hint, error, choices, pick, inline, legend):
    value = {"field": choices[pick][0]} if 0 <= pick < len(choices) else {}
    form = _form(label, hint, error, value, choices=[("", "Any"), *choices], field_kind="radios")
    ours, theirs = _both(env, "{{ f.radios(form.field, inline=inline, legend_classes=legend) }}", form=form,
                         inline=inline, legend=legend)
    assert ours == theirs


@settings(max_examples=60, deadline=None)
@given(label=_words.filter(str.strip), hint=_optional, error=_optional,
       day=_words, month=_words, year=_words)
def test_date_input_markup_is_govuk_frontends(env, label, hint, error, day, month, year):
    form = _form(label, hint, error, {"field-day": day, "field-month": month, "field-year": year},
                 field_kind="date")
    ours, theirs = _both(env, "{{ f.date(form.field) }}", form=form)
    assert ours == theirs


@pytest.mark.parametrize("data", [
    {},
    {"reason": "child_protection"},
    {"reason": "other"},
    {"reason": "other", "reason_text": "<b>visit</b> & \"follow-up\""},
    {"reason": "nonsense"},
])
@pytest.mark.parametrize("legend", [None, "Why are you opening this record?"])
def test_reason_radios_markup_is_govuk_frontends(env, data, legend):
    form = SearchForm(data=data)
    form.is_valid()
    if data.get("reason") == "other" and not data.get("reason_text"):
        form.add_error("reason_text", "Say why you need to find this child")
    ours = _tree(env.get_template("children/_reason_fields.html").render(form=form, legend=legend))
    theirs = _tree(env.get_template("reference_reasons.html").render(form=form, legend=legend))
    assert ours == theirs
