"""``contactpoint discrepancies SOURCE [--format text|csv|json]``: a source system's open discrepancy items, as the
source itself reads them (``GET /api/v1/feeds/{source}/discrepancies`` gives the same, from the same function).

Each item names the source's own record ID, the field and what to check; it never reveals anything of a
shielded child beyond "please check it", nor any other source's identifier. Fetching the report is audited.
"""

from __future__ import annotations

import csv
import json
from typing import Any

from django.core.management.base import CommandError
from django.utils import timezone

from contactpoint.access.models import SourceSystem
from contactpoint.audit.trail import Actor
from contactpoint.bestview.discrepancies import ReportItem, fetch_report
from contactpoint.commands import ContactPointCommand
from contactpoint.vault.keyring import get_keyring

OPERATOR = Actor.operator()
COLUMNS = ("source_record_id", "field", "message", "opened")


def _as_dict(item: ReportItem) -> dict[str, str]:
    return {"source_record_id": item.source_record_id, "field": item.field, "message": item.message,
            "opened": item.opened.isoformat()}


class Command(ContactPointCommand):
    help = "A source system's open discrepancy items (what it should check and correct), as text, CSV or JSON."

    def add_arguments(self, parser) -> None:
        parser.add_argument("source", help="the source system's code")
        parser.add_argument("--format", choices=["text", "csv", "json"], default="text")

    def handle(self, *args: Any, **options: Any) -> None:
        source = SourceSystem.objects.filter(code=options["source"].strip().lower()).first()
        if source is None:
            raise CommandError(f"no source system '{options['source']}'")
        items = fetch_report(source.code, actor=OPERATOR, keyring=get_keyring(), now=timezone.now())
        fmt = options["format"]
        if fmt == "json":
            self.stdout.write(json.dumps({"source": source.code, "count": len(items),
                                          "items": [_as_dict(i) for i in items]}, indent=1))
        elif fmt == "csv":
            writer = csv.DictWriter(self.stdout, fieldnames=COLUMNS, lineterminator="\n")
            writer.writeheader()
            writer.writerows(_as_dict(i) for i in items)
        else:
            self.stdout.write(f"{len(items)} open item(s) for {source.code}")
            for i in items:
                self.stdout.write(f"{i.opened.isoformat()}  record {i.source_record_id}  {i.field}: {i.message}")
