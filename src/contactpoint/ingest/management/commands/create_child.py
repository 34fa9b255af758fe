"""``contactpoint create-child``: a data manager creates a record for a child no source knows (issue 19).

    contactpoint create-child --set given_name=Zara --set family_name=Okonkwo --set date_of_birth=2019-04-11 \\
        --set gender=female --set address_line_1="3 Camden Square" --set postcode="NW1 9XA" \\
        [--set nhs_number=... --set upn=... --set carer_1_name=...] [--submission REF] --as USERNAME

The same function as the page and the API (``ingest.manual``): checked as a feed row, matched first, a possible
match sent to the review queue (only its reference is printed, never who it may be), audited under the named data
manager, whose conditions of access must be met as for signing in. ``--submission`` makes a retry safe: the same
reference again prints the first outcome and makes nothing more.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.core.management.base import CommandError
from django.utils import timezone

from contactpoint.access.preconditions import acting_user
from contactpoint.commands import ContactPointCommand
from contactpoint.ingest import manual
from contactpoint.vault.keyring import get_keyring


class Command(ContactPointCommand):
    help = ("Create a record for a child no source knows, matched first (a possible match goes to review): "
            "--set NAME=VALUE ... --as USERNAME.")

    def add_arguments(self, parser) -> None:
        parser.add_argument("--set", dest="values", action="append", default=[], metavar="NAME=VALUE",
                            help=f"a detail, NAME one of {', '.join(manual.FIELDS)} (repeat for each)")
        parser.add_argument("--submission", help="your reference for this request (8-64 letters, digits, - or "
                                                 "_): the same again makes nothing more")
        parser.add_argument("--as", dest="username", required=True, help="the data manager acting")

    def handle(self, *args: Any, **options: Any) -> None:
        values = {}
        for item in options["values"]:
            name, sep, value = item.partition("=")
            if not sep or name not in manual.FIELDS:
                raise CommandError(f"--set takes NAME=VALUE, NAME one of {', '.join(manual.FIELDS)}")
            values[name] = value
        user = acting_user(options["username"], timezone.localdate())
        made = manual.create_child(user, values, submission=options["submission"] or secrets.token_urlsafe(18),
                                   keyring=get_keyring(), now=timezone.now())
        again = " (made before: nothing more was made)" if made.repeated else ""
        self.stdout.write(f"{made.outcome.value}  {made.reference}{again}")
        if made.outcome != manual.Outcome.CREATED:
            self.stdout.write(made.message)
