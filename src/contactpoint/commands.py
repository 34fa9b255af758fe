"""The base of every ``contactpoint`` command: domain refusals become one line on stderr and exit status 1."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from contactpoint import correlation
from contactpoint.errors import ContactPointError


class ContactPointCommand(BaseCommand):
    requires_system_checks: list[str] = []

    def execute(self, *args: Any, **options: Any) -> Any:
        # A command's audit entries share an id; one run inside another (a job, the demo) keeps the outer one.
        try:
            with correlation.scope(correlation.current() or correlation.new_id("cli")):
                return super().execute(*args, **options)
        except ContactPointError as exc:
            raise CommandError(exc.message) from exc

    @staticmethod
    def parse_day(raw: str | None, option: str) -> date | None:
        if raw is None:
            return None
        try:
            return date.fromisoformat(raw)
        except ValueError:
            raise CommandError(f"{option} must be a date written YYYY-MM-DD") from None
