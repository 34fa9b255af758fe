"""The Jinja2 environment for every page: GOV.UK Frontend macros (``govuk-frontend-jinja``) and our helpers
(``get_messages``: the one-shot messages of ``django.contrib.messages``, shown by ``_messages.html``).

``ChainableUndefined`` because the package's ``template.html`` calls macros without parameters and reads
attributes of missing values (DESIGN.md section 3, known pitfalls)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.contrib.messages import get_messages
from django.templatetags.static import static
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from jinja2 import ChainableUndefined, ChoiceLoader, Environment, PackageLoader, PrefixLoader

from contactpoint.config import get_settings
from contactpoint.web import labels
from contactpoint.web.navigation import navigation
from contactpoint.web.tables import responsive_table


def _url(name: str, *args: Any, **kwargs: Any) -> str:
    return reverse(name, args=args or None, kwargs=kwargs or None)


def _url_exists(name: str) -> bool:
    try:
        reverse(name, args=["0"])
    except NoReverseMatch:
        try:
            reverse(name)
        except NoReverseMatch:
            return False
    return True


def _govuk_date(value: date | datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        local = timezone.localtime(value)
        return f"{local.day} {local:%B %Y} at {local:%-I:%M%p}".replace("AM", "am").replace("PM", "pm")
    return f"{value.day} {value:%B %Y}"


def _session_idle_seconds() -> int:
    return get_settings().session.idle_minutes * 60


def environment(**options: Any) -> Environment:
    loader = options.pop("loader", None)
    loaders = [PrefixLoader({"govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja", "templates")})]
    if loader is not None:
        loaders.insert(0, loader)
    options.setdefault("autoescape", True)
    options["undefined"] = ChainableUndefined
    options.setdefault("extensions", []).append("jinja2.ext.do")
    env = Environment(loader=ChoiceLoader(loaders), **options)
    env.globals.update(url=_url, url_exists=_url_exists, static=static, nav=navigation,
                       get_messages=get_messages, session_idle_seconds=_session_idle_seconds)
    env.filters["govuk_date"] = _govuk_date
    env.filters["responsive_table"] = responsive_table
    env.filters.update(labels.FILTERS)
    return env
