from __future__ import annotations

import signal
import sys
import threading
from typing import Any

from django.core.management.base import CommandError
from django.utils import timezone

from contactpoint.access.models import User
from contactpoint.audit.trail import Actor
from contactpoint.commands import ContactPointCommand
from contactpoint.monitoring.engine import lag
from contactpoint.monitoring.identity import record_identity
from contactpoint.monitoring.thresholds import MonitorSettings
from contactpoint.monitoring.worker import run
from contactpoint.vault.keyring import get_keyring


class Command(ContactPointCommand):
    help = ("Misuse monitoring: 'monitor run [--once] [--interval 10]' runs the rules over new audit entries "
            "and checks the trail's health; 'monitor status' shows how far behind it is; 'monitor identity "
            "USERNAME' records a user's own family name and home postcode (read from standard input) as "
            "keyed tokens.")

    def add_arguments(self, parser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        run_p = sub.add_parser("run", help="the monitoring worker (runs until stopped)")
        run_p.add_argument("--once", action="store_true", help="catch up once, check health, and stop")
        run_p.add_argument("--interval", type=float, default=10.0,
                           help="seconds between passes (default 10; a new entry is judged within it)")
        run_p.add_argument("--no-health", action="store_true", help="run the rules only")
        sub.add_parser("status", help="entries not yet read by the monitor")
        ident = sub.add_parser("identity", help="watch for searches of a user's own family name and postcode")
        ident.add_argument("username")

    def handle(self, *args: Any, **options: Any) -> None:
        settings = MonitorSettings.from_env()
        ring = get_keyring()
        if options["action"] == "status":
            behind, seq = lag()
            self.stdout.write(f"monitor has read to entry {seq}; {behind} entries waiting")
            return
        if options["action"] == "identity":
            return self._identity(options["username"], ring)
        if options["interval"] <= 0 or options["interval"] > 60:
            raise CommandError("--interval must be more than 0 and at most 60 seconds")
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        read = run(ring, settings, interval=options["interval"], once=options["once"], stop=stop,
                   health=not options["no_health"])
        self.stdout.write(f"monitor read {read} audit entries")

    def _identity(self, username: str, ring) -> None:
        user = User.objects.filter(username=username.strip().lower()).first()
        if user is None:
            raise CommandError(f"there is no user {username}")
        # Read from standard input, never the command line: arguments end up in shell history and `ps`.
        lines = [line.strip() for line in sys.stdin.read().splitlines()]
        if not lines or not lines[0]:
            raise CommandError("give the family name(s) on the first line of standard input (separated by ';') "
                               "and the home postcode on the second")
        names = [n for n in lines[0].split(";") if n.strip()]
        postcode = lines[1] if len(lines) > 1 else ""
        record_identity(user, family_names=names, postcode=postcode, keyring=ring, now=timezone.now(),
                        recorded_by=Actor.system("monitor-identity"))
        self.stdout.write(f"watching searches for {user.username}'s own family name"
                          f"{' and postcode' if postcode.strip() else ''}")
