from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone
from django_otp.oath import TOTP
from tqdm import tqdm

from contactpoint.commands import ContactPointCommand
from contactpoint.config import get_settings
from contactpoint.feeds.models import RowProblem
from contactpoint.synthetic import demo
from contactpoint.vault.keyring import get_keyring


class Command(ContactPointCommand):
    help = ("Try ContactPoint: load a synthetic local authority through the real pipeline, create a user for "
            "each role (logins in var/demo-logins.json) and serve the site. Development only.")

    def add_arguments(self, parser) -> None:
        parser.add_argument("--children", type=int, default=3000, help="children in the local authority")
        parser.add_argument("--seed", type=int, default=202)
        parser.add_argument("--no-serve", action="store_true", help="load and print the logins, then stop")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--code", metavar="USERNAME",
                            help="print the current six-digit security code of a demo user, and stop")

    def handle(self, *args: Any, **options: Any) -> None:
        settings = get_settings()
        if settings.is_production:
            raise CommandError("the demo creates accounts with published passwords: it never runs in production")
        logins_file = settings.var_dir / "demo-logins.json"
        if options["code"]:
            return self._code(logins_file, options["code"])
        if not 1 <= options["children"] <= 200_000:
            raise CommandError("--children must be between 1 and 200,000 for the demo")
        self.stdout.write("Preparing the database")
        call_command("migrate", interactive=False, verbosity=0)
        keyring, now = get_keyring(), timezone.now()
        today = timezone.localdate()

        folder = settings.var_dir / "demo-feeds"
        self.stdout.write(f"Generating {options['children']:,} children in Camden (LA {demo.DEMO_LA}) "
                          f"from four source systems into {folder}")
        demo.generate_feeds(folder, children=options["children"], seed=options["seed"], today=today)
        sources = demo.register_sources(keyring=keyring, now=now)
        self._load(folder, sources, keyring, now)
        logins = demo.create_users(keyring=keyring, now=now, today=today)
        demo.write_logins(logins_file, logins)
        demo.loaded(keyring, now, options["children"])
        self._print(logins, sources, logins_file, options["port"])
        if not options["no_serve"]:
            call_command("serve", port=options["port"], with_worker=True)

    def _load(self, folder: Path, sources, keyring, now) -> None:
        bars: dict[str, tqdm] = {}

        def progress(code: str, done: int) -> None:
            bar = bars.setdefault(code, tqdm(desc=f"  {code}", unit=" rows", file=self.stderr, disable=None))
            bar.update(done - bar.n)

        for outcome in demo.load_feeds(folder, sources, keyring=keyring, now=now, progress=progress):
            for bar in bars.values():
                bar.close()
            bars.clear()
            run = outcome.run
            if outcome.already_done:
                self.stdout.write(f"  {run.source.code}: loaded before, nothing changed")
                continue
            self.stdout.write(
                f"  {run.source.code}: {run.rows_accepted:,} rows taken, {run.rows_refused} refused, "
                f"{run.children_created:,} new children, {run.records_linked:,} linked to children already "
                f"known, {run.reviews_queued} pairs for the review queue")
            problems = RowProblem.objects.filter(run=run).order_by("line")
            for problem in problems[:3]:
                self.stdout.write(f"      line {problem.line}: {problem.field}: {problem.reason}")
            if problems.count() > 3:
                self.stdout.write(f"      ... and {problems.count() - 3} more (reported to the source)")

    def _print(self, logins, sources, logins_file: Path, port: int) -> None:
        w = self.stdout.write
        w("")
        w(f"Sign in at http://127.0.0.1:{port}/ with a username, its password, its PIN and a six-digit code.")
        w("Add a TOTP secret to any authenticator app, or print the current code with:")
        w("    .venv/bin/contactpoint demo --code USERNAME")
        w("")
        w(f"{'username':15} {'password':18} {'PIN':8} {'TOTP secret':34} who")
        for login in logins:
            w(f"{login.username:15} {login.password:18} {login.pin:8} {login.totp_secret:34} {login.what}")
        w("")
        w(f"The same logins are in {logins_file} (readable by you only).")
        fresh = [(code, token) for code, (_, token) in sources.items() if token]
        if fresh:
            w("Source-system API keys (shown once; for POST /api/v1/feeds/SOURCE):")
            for code, token in fresh:
                w(f"    {code:28} {token}")
        w("")

    def _code(self, logins_file: Path, username: str) -> None:
        try:
            logins = json.loads(logins_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise CommandError(f"no demo logins at {logins_file}: run 'make demo' first") from None
        found = next((entry for entry in logins if entry["username"] == username.lower()), None)
        if found is None:
            raise CommandError(f"{username} is not a demo user")

        secret = found["totp_secret"]
        key = base64.b32decode(secret + "=" * (-len(secret) % 8))
        self.stdout.write(f"{TOTP(key).token():06d}")
