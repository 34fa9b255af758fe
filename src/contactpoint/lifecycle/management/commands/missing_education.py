"""``contactpoint missing-education``: the children missing education list, for a named data manager (``--as``).

    contactpoint missing-education --as USERNAME [--csv] [--page N]

The same functions as the web page, with the same scope (the user's local authority) and audit (the children
listed are named in the audit entry); ``--csv`` writes the whole list as the page's download does. The account
must be active and its conditions of access met, as for signing in.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from contactpoint.access.preconditions import acting_user
from contactpoint.commands import ContactPointCommand
from contactpoint.lifecycle import education
from contactpoint.vault.keyring import get_keyring


class Command(ContactPointCommand):
    help = ("The school-age children your local authority is responsible for with no educational setting, the "
            "longest first (audited); --csv for the whole list.")

    def add_arguments(self, parser) -> None:
        parser.add_argument("--as", dest="username", required=True, help="the data manager acting")
        parser.add_argument("--csv", action="store_true", help="the whole list as CSV")
        parser.add_argument("--page", type=int, default=1)

    def handle(self, *args: Any, **options: Any) -> None:
        now = timezone.now()
        user = acting_user(options["username"], timezone.localdate(now))
        if options["csv"]:
            self.stdout.write(education.missing_csv(user, keyring=get_keyring(), now=now), ending="")
            return
        shown, total = education.missing_page(user, keyring=get_keyring(), now=now, page=options["page"])
        self.stdout.write(f"{total} children missing education")
        for m in shown:
            self.stdout.write(f"{m.cpid}  {m.name}  born {m.date_of_birth.isoformat()}  since "
                              f"{m.since.isoformat()} ({(now.date() - m.since).days} days)")
