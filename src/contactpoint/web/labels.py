"""Words for the codes the domain keeps (issue 18, finding 6): a page shows "GP registrations", "Camden",
"Signed in" and "485 777 3456", never ``gp-registrations``, ``202``, ``auth.login.succeeded`` or ``4857773456``.
Each is a Jinja filter (``FILTERS``); an unknown code is shown as it is rather than hidden."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from contactpoint.access.models import Organisation, SourceSystem, User
from contactpoint.access.reasons import LABELS, Reason
from contactpoint.audit.actions import describe
from contactpoint.children.identifiers import format_contactpoint_id
from contactpoint.records.involvements import SERVICE_LABELS
from contactpoint.reference import local_authority


class _Names:
    """Code -> name for a small table (source systems, organisations), read in one query and read again only when
    a code is missing (a source registered since), so that a record page's dozen provenance lines cost one."""

    def __init__(self, load: Callable[[], dict[str, str]]) -> None:
        self._load = load
        self._names: dict[str, str] = {}

    def get(self, code: str) -> str | None:
        if code not in self._names:
            self._names = self._load()
        return self._names.get(code)


_sources = _Names(lambda: dict(SourceSystem.objects.values_list("code", "name")))
_organisations = _Names(lambda: dict(Organisation.objects.values_list("code", "name")))


def la_name(code: str | None) -> str:
    """A local authority's name from its DfE code ("202" -> "Camden")."""
    if not code:
        return ""
    found = local_authority(str(code))
    return found.name if found else str(code)


def source_name(code: str) -> str:
    """Where a value came from: a source system's name, a practitioner's organisation, a local authority."""
    kind, _, rest = code.partition(":")
    if kind == "practitioner" and rest:
        organisation = _organisations.get(rest)
        return f"a practitioner at {organisation}" if organisation else "a practitioner"
    if kind == "la" and rest:
        return f"{la_name(rest)} local authority"
    return _sources.get(code) or code


def nhs_number(value: Any) -> str:
    """An NHS number as the NHS writes it, 3-3-4 ("485 777 3456"), so that it can be read out and checked."""
    digits = "".join(ch for ch in str(value or "") if ch.isdigit())
    return f"{digits[:3]} {digits[3:6]} {digits[6:]}" if len(digits) == 10 else str(value or "")


def yes_no(value: bool | None) -> str:
    return "Yes" if value else ("No" if value is False else "Not known")


def service_name(code: str) -> str:
    return SERVICE_LABELS.get(code, code)


def reason_name(code: str) -> str:
    try:
        return LABELS[Reason(code)]
    except ValueError:
        return code


def organisation_name(code: str | None) -> str:
    return (_organisations.get(code) or code) if code else ""


def fact(value: Any) -> str:
    """A value of an alert's evidence: Yes or No for a flag, a list as a list."""
    if isinstance(value, bool):
        return yes_no(value)
    if isinstance(value, list | tuple):
        return ", ".join(fact(v) for v in value)
    return str(value)


def amended_by(feed: str) -> str:
    """Who made an amendment, from its provenance ``feed`` ("amendment:<username>", see ``bestview.build``)."""
    username = feed.partition(":")[2]
    return User.objects.filter(username=username).values_list("full_name", flat=True).first() or username


FILTERS: dict[str, Callable[..., str]] = {
    "cpid": format_contactpoint_id, "nhs_number": nhs_number, "source_name": source_name, "la_name": la_name,
    "yes_no": yes_no, "service_name": service_name, "reason_name": reason_name, "audit_action": describe,
    "organisation_name": organisation_name, "fact": fact, "amended_by": amended_by,
}
