"""``contactpoint held --as USERNAME``: the rows held back from matching for a data manager's local authority
(linked to no child, and without the date of birth or name a new child needs), oldest first.

The same function as the page "Rows held back", with the same scope and audit: the actor is a named data
manager, whose conditions of access must be met as for signing in.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from contactpoint.access.preconditions import acting_user
from contactpoint.commands import ContactPointCommand
from contactpoint.ingest.held import held_for
from contactpoint.vault.keyring import get_keyring


class Command(ContactPointCommand):
    help = "The rows held back from matching for your local authority (audited under --as USERNAME)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--as", dest="username", required=True, help="a data manager's username")
        parser.add_argument("--limit", type=int, default=50)

    def handle(self, *args: Any, **options: Any) -> None:
        user = acting_user(options["username"], timezone.localdate())
        listed = held_for(user, keyring=get_keyring(), now=timezone.now(), limit=options["limit"])
        self.stdout.write(f"{listed.count} row(s) held for local authority {user.organisation.la_code}")
        for h in listed.rows:
            name = f"{h.row.name.given} {h.row.name.family}".strip() or "no name"
            born = h.row.date_of_birth.isoformat() if h.row.date_of_birth else "date of birth not known"
            self.stdout.write(f"{h.received.isoformat()}  {h.source} line {h.line}: {name}, {born}; {h.reason}")
            for field, why in h.flags:
                self.stdout.write(f"    {field}: {why}")
