"""``contactpoint generate``: write synthetic, realistically messy feed files and their answer key."""

from __future__ import annotations

from argparse import ArgumentTypeError
from datetime import date
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser

from contactpoint.commands import ContactPointCommand
from contactpoint.synthetic.generator import generate


def _whole_number(minimum: int):
    def parse(raw: str) -> int:
        try:
            value = int(raw)
        except ValueError:
            value = minimum - 1
        if value < minimum:
            raise ArgumentTypeError(f"must be a whole number of {minimum} or more")
        return value

    return parse


_positive, _not_negative = _whole_number(1), _whole_number(0)


class Command(ContactPointCommand):
    help = ("Write synthetic feeds (gp-registrations, child-benefit, and per LA school-census and "
            "la-social-care) for N children, and truth.csv, the answer key to keep apart from them. "
            "The same arguments always give the same files.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--children", type=_positive, required=True, help="how many children (1 or more)")
        parser.add_argument("--seed", type=int, required=True, help="the same seed gives the same files")
        parser.add_argument("--out", type=Path, required=True,
                            help="directory to write into (created if need be)")
        parser.add_argument("--las", default="202", help="comma-separated DfE LA codes (default 202, Camden)")
        parser.add_argument("--today", help="the day the feeds are taken, YYYY-MM-DD (default: today)")
        parser.add_argument("--bad-rows", type=_not_negative, default=0,
                            help="append this many invalid rows to each feed, to demonstrate refusals")
        parser.add_argument("--workers", type=_positive, default=None,
                            help="worker processes (default: the CPUs available); the files are the same")

    def handle(self, *args: Any, **options: Any) -> None:
        today = self.parse_day(options["today"], "--today") or date.today()
        las = options["las"].split(",")
        try:
            summary = generate(options["children"], options["seed"], options["out"], las, today,
                               bad_rows=options["bad_rows"], workers=options["workers"])
        except (ValueError, OSError) as exc:
            raise CommandError(str(exc)) from exc
        for written in summary.files:
            self.stdout.write(f"{written.path}: {written.rows} rows")
