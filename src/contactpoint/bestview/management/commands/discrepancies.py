"""A source system's discrepancy items, as the source itself reads them (``GET /api/v1/feeds/{source}/discrepancies``
gives the same, from the same function), and its answers to them::

    contactpoint discrepancies SOURCE [--format text|csv|json] [--field F] [--kind K] [--state S]
                                      [--page N] [--per-page N]
    contactpoint discrepancies SOURCE acknowledge ID
    contactpoint discrepancies SOURCE dispute ID --reason "..."

Each item names its ID, the source's own record ID, the field and what to check; it never reveals anything of a
shielded child beyond "please check it", nor any other source's identifier. Without ``--page`` or
``--per-page`` every open item is listed. Fetching the report and every answer is audited (the operator acting
for the source).
"""

from __future__ import annotations

import csv
import json
from argparse import ArgumentTypeError
from typing import Any

from django.core.management.base import CommandError
from django.utils import timezone

from contactpoint.access.models import SourceSystem
from contactpoint.audit.trail import Actor
from contactpoint.bestview.discrepancies import Filters, ReportItem, acknowledge, dispute, fetch_report
from contactpoint.bestview.models import Discrepancy
from contactpoint.commands import ContactPointCommand
from contactpoint.vault.keyring import get_keyring

OPERATOR = Actor.operator()
COLUMNS = ("id", "source_record_id", "field", "kind", "message", "opened", "state", "answered")
PER_PAGE = 100  # with --page and no --per-page


def _positive(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ArgumentTypeError("must be a whole number") from None
    if value < 1:
        raise ArgumentTypeError("must be 1 or more")
    return value


def _as_dict(item: ReportItem) -> dict[str, Any]:
    return {"id": item.id, "source_record_id": item.source_record_id, "field": item.field, "kind": item.kind,
            "message": item.message, "opened": item.opened.isoformat(), "state": item.state,
            "answered": item.answered.isoformat() if item.answered else ""}


class Command(ContactPointCommand):
    help = ("A source system's open discrepancy items (what it should check and correct), as text, CSV or JSON, "
            "paged and filtered; or the source's answer to one: acknowledge ID, or dispute ID --reason.")

    def add_arguments(self, parser) -> None:
        parser.add_argument("source", help="the source system's code")
        parser.add_argument("action", nargs="?", choices=["acknowledge", "dispute"],
                            help="answer an item for the source: acknowledge (it will correct its record) or "
                                 "dispute (its value is right; give --reason)")
        parser.add_argument("item", nargs="?", type=_positive, help="the item's ID, as the report shows it")
        parser.add_argument("--reason", help="dispute: why the source's value is right (no personal details)")
        parser.add_argument("--format", choices=["text", "csv", "json"], default="text")
        parser.add_argument("--field", default="", help="only items about this field (date_of_birth, name, ...)")
        parser.add_argument("--kind", default="", choices=["", *Discrepancy.Kind.values])
        parser.add_argument("--state", default="", choices=["", *Discrepancy.State.values],
                            help="only items the source has not answered (open), acknowledged or disputed")
        parser.add_argument("--page", type=_positive, help=f"which page ({PER_PAGE} items a page by default)")
        parser.add_argument("--per-page", type=_positive, help="items a page (default: every item, unless --page)")

    def handle(self, *args: Any, **options: Any) -> None:
        source = SourceSystem.objects.filter(code=options["source"].strip().lower()).first()
        if source is None:
            raise CommandError(f"no source system '{options['source']}'")
        if options["action"]:
            self._answer(source.code, options)
            return
        if options["reason"]:
            raise CommandError("--reason goes with dispute ID")
        per_page = options["per_page"] or (PER_PAGE if options["page"] else None)
        page = options["page"] or 1
        filters = Filters(options["field"].strip(), options["kind"], options["state"])
        report = fetch_report(source.code, actor=OPERATOR, keyring=get_keyring(), now=timezone.now(),
                              filters=filters, offset=(page - 1) * (per_page or 0), limit=per_page)
        items = report.items
        fmt = options["format"]
        if fmt == "json":
            self.stdout.write(json.dumps({"source": source.code, "count": len(items), "total": report.total,
                                          "page": page, "per_page": per_page, "filters": filters.chosen(),
                                          "items": [_as_dict(i) for i in items]}, indent=1))
        elif fmt == "csv":
            writer = csv.DictWriter(self.stdout, fieldnames=COLUMNS, lineterminator="\n")
            writer.writeheader()
            writer.writerows(_as_dict(i) for i in items)
        else:
            chosen = ", ".join(f"{k} {v}" for k, v in filters.chosen().items())
            self.stdout.write(f"{report.total} open item(s) for {source.code}" + (f" ({chosen})" if chosen else ""))
            if per_page is not None:
                first = (page - 1) * per_page
                shown = f"items {first + 1}-{first + len(items)}" if items else "no items on this page"
                self.stdout.write(f"page {page} of {max(1, -(-report.total // per_page))}: {shown}")
            for i in items:
                answered = f"  [{i.state} {i.answered.isoformat()}]" if i.answered else ""
                self.stdout.write(f"{i.opened.isoformat()}  item {i.id}  record {i.source_record_id}  "
                                  f"{i.field}: {i.message}{answered}")

    def _answer(self, source: str, options: dict[str, Any]) -> None:
        action, item = options["action"], options["item"]
        if item is None:
            raise CommandError(f"say which item to {action}: contactpoint discrepancies {source} {action} ID")
        now = timezone.now()
        if action == "acknowledge":
            if options["reason"]:
                raise CommandError("--reason goes with dispute, not acknowledge")
            done = acknowledge(source, item, actor=OPERATOR, keyring=get_keyring(), now=now)
            self.stdout.write(f"Item {done.id} acknowledged (record {done.source_record_id}, {done.field}): "
                              "it stays open until the source sends the record put right.")
        else:
            if not options["reason"]:
                raise CommandError("a dispute needs --reason: why the source's value is right")
            done = dispute(source, item, options["reason"], actor=OPERATOR, keyring=get_keyring(), now=now)
            self.stdout.write(f"Item {done.id} disputed (record {done.source_record_id}, {done.field}): the "
                              "reason is shown to the data managers of the child's local authority.")
