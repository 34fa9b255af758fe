from __future__ import annotations

from typing import Any

from django.utils import timezone

from contactpoint.commands import ContactPointCommand
from contactpoint.lifecycle import education, notices
from contactpoint.lifecycle.run import run
from contactpoint.vault.keyring import get_keyring


class Command(ContactPointCommand):
    help = ("The life of records: 'lifecycle run [--today YYYY-MM-DD]' archives, seals and deletes every record "
            "whose time has come (run it daily; safe to repeat and to kill).")

    def add_arguments(self, parser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        go = sub.add_parser("run", help="archive at 18 (25 with consent, a year after a death), seal a year "
                                        "later, delete six years after archiving")
        go.add_argument("--today", help="the day to run for (default: today); for catching up or testing")
        sub.add_parser("guard-new-identities", help="once after an upgrade: hold feed rows that carry the "
                                                    "identifiers, or the name and date of birth, of records "
                                                    "sealed for a new identity before the release (safe again)")
        sub.add_parser("education-gaps", help="once, after children migration 0006: note which records hold no "
                                              "educational setting, for the children missing education list")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "guard-new-identities":
            count = notices.guard_earlier_new_identities(get_keyring())
            self.stdout.write(f"{count} record(s) sealed for a new identity now guarded (or their guards completed)")
            return
        if options["action"] == "education-gaps":
            count = education.fill_gaps(get_keyring())
            self.stdout.write(f"{count} record(s) hold no educational setting")
            return
        today = self.parse_day(options.get("today"), "--today") or timezone.localdate()
        report = run(get_keyring(), today=today, now=timezone.now())
        for line in report.lines():
            self.stdout.write(line)
