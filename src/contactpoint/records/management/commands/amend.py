"""``contactpoint amend``: a data manager corrects or completes a record from the command line (issue 19).

    contactpoint amend change CPID FIELD --set NAME=VALUE [--set ...] --reason TEXT --as USERNAME
    contactpoint amend waiting --as USERNAME
    contactpoint amend approve REFERENCE --as USERNAME
    contactpoint amend reject REFERENCE --as USERNAME
    contactpoint amend withdraw REFERENCE --as USERNAME

FIELD is name, date_of_birth, gender, address, nhs_number, upn, uln, carers, education or gp; the NAMEs are its
parts (given_name, middle_names, family_name; date_of_birth; gender; address_line_1, address_line_2, town,
postcode; nhs_number; upn; uln; carer_1_name, carer_1_relationship, carer_1_parental_responsibility,
carer_1_phone and carer_2_...; setting_urn, setting_name, setting_start_date; gp_practice_code, gp_practice_name,
gp_start_date). The same function as the pages and the API, with the same scope (the user's local authority), four
eyes for identifiers and audit under the named person, whose conditions of access must be met, as for signing in.
Nothing of the child's is printed: only references, fields and states.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError
from django.utils import timezone

from contactpoint.access.preconditions import acting_user
from contactpoint.commands import ContactPointCommand
from contactpoint.records import amendments
from contactpoint.vault.keyring import get_keyring


class Command(ContactPointCommand):
    help = ("Correct or complete a record as a local authority data manager: change CPID FIELD --set NAME=VALUE "
            "--reason TEXT, waiting, approve REF, reject REF, withdraw REF. Every action needs --as USERNAME.")

    def add_arguments(self, parser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        change = sub.add_parser("change", help="change one value (an NHS number, UPN or ULN waits for approval)")
        change.add_argument("cpid")
        change.add_argument("field", choices=list(amendments.INPUTS))
        change.add_argument("--set", dest="values", action="append", default=[], metavar="NAME=VALUE",
                            help="a part of the new value, e.g. family_name=Hartley (repeat for each part)")
        change.add_argument("--reason", required=True)
        waiting = sub.add_parser("waiting", help="your authority's identifier changes awaiting approval")
        parsers = [change, waiting]
        for name, words in (("approve", "approve a proposed identifier change (not your own)"),
                            ("reject", "reject a proposed identifier change"),
                            ("withdraw", "withdraw a change: the sources' value applies again")):
            p = sub.add_parser(name, help=words)
            p.add_argument("reference")
            parsers.append(p)
        for p in parsers:
            p.add_argument("--as", dest="username", required=True, help="the data manager acting")

    def handle(self, *args: Any, **options: Any) -> None:
        user = acting_user(options["username"], timezone.localdate())
        action, keyring, now = options["action"], get_keyring(), timezone.now()
        if action == "change":
            values = {}
            for item in options["values"]:
                name, sep, value = item.partition("=")
                if not sep or name not in amendments.INPUTS[options["field"]]:
                    raise CommandError(f"--set takes NAME=VALUE, NAME one of "
                                       f"{', '.join(amendments.INPUTS[options['field']])}")
                values[name] = value
            row = amendments.amend(user, options["cpid"], options["field"], values, options["reason"],
                                   keyring=keyring, now=now)
        elif action == "waiting":
            for r in amendments.awaiting_approval(user):
                self.stdout.write(f"{r.key}  {r.child.cpid}  {r.field}  proposed by {r.made_by.username} "
                                  f"on {r.made_at.date().isoformat()}")
            return
        elif action in ("approve", "reject"):
            row = amendments.decide(user, options["reference"], approve=action == "approve", keyring=keyring,
                                    now=now)
        else:
            row = amendments.withdraw(user, options["reference"], keyring=keyring, now=now)
        self.stdout.write(f"{row.key}  {row.field}  {row.get_status_display()}")
