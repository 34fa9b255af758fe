from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from contactpoint.audit.actions import AuditAction
from contactpoint.audit.trail import Actor, record_event
from contactpoint.commands import ContactPointCommand
from contactpoint.matching.evaluate import pairwise, read_truth
from contactpoint.matching.links import write_links
from contactpoint.vault.keyring import get_keyring


class Command(ContactPointCommand):
    help = "Write source,source_record_id,contactpoint_id for every source record (to measure match quality)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--truth", type=Path, help="also measure against this truth.csv")

    def handle(self, *args: Any, **options: Any) -> None:
        ring = get_keyring()
        count = write_links(ring, options["file"])
        record_event(AuditAction.LINKS_EXPORTED, actor=Actor.system("export-links"), keyring=ring,
                     context={"records": count})
        self.stdout.write(f"wrote {count} links to {options['file']}")
        if options["truth"]:
            with options["file"].open(newline="") as fh:
                clusters = [((r["source"], r["source_record_id"]), r["contactpoint_id"]) for r in csv.DictReader(fh)]
            self.stdout.write(str(pairwise(clusters, read_truth(options["truth"]))))
