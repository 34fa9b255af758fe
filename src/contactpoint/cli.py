"""The ``contactpoint`` command: Django's management commands under one name.

    contactpoint demo | serve | generate | ingest | keys rotate | audit verify | audit checkpoint | users ...

Refusals and bad input end with one line on stderr and a non-zero exit (commands raise ``CommandError``)."""

from __future__ import annotations

import os
import sys

import django
from django.core.management import execute_from_command_line, get_commands, load_command_class

from contactpoint.errors import ConfigurationError

# Command names with hyphens (Django's come from module names, which cannot have them).
ALIASES = {"export-links": "export_links", "missing-education": "missing_education", "create-child": "create_child"}
# Django's own commands that ContactPoint's documentation asks operators to run (README, docs/operations.md).
# The others (flush, dbshell, shell, ...) still run for a developer who names them, but are not offered:
# `flush` would empty the index and its audit trail.
DOCUMENTED_DJANGO = {"migrate": "Create or upgrade the database's tables, audit triggers and reference data."}
HELP = ("help", "--help", "-h")


def usage() -> str:
    """``contactpoint``, ``contactpoint help``: ContactPoint's own commands, each with the first sentence of its
    help, and the Django commands the documentation uses."""
    django.setup()
    names = {v: k for k, v in ALIASES.items()}
    ours = {}
    for name, app in get_commands().items():
        if app.startswith("contactpoint"):
            text = (load_command_class(app, name).help or "").strip()
            first = text.split(". ")[0].split(": ")[0].split(" (")[0].rstrip(".")
            ours[names.get(name, name)] = first
    ours.update({k: v.rstrip(".") for k, v in DOCUMENTED_DJANGO.items()})
    width = max(len(n) for n in ours) + 2
    room = 98 - width  # each line within 100 columns, however long the longest command's name
    ours = {n: t if len(t) <= room else t[:room - 1].rsplit(" ", 1)[0] + "…" for n, t in ours.items()}
    lines = ["Usage: contactpoint <command> [options]", "", "Commands:"]
    lines += [f"  {name.ljust(width)}{ours[name]}" for name in sorted(ours)]
    lines += ["", "'contactpoint <command> --help' describes a command's options."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "contactpoint.settings")
    args = ["contactpoint", *(sys.argv[1:] if argv is None else argv)]
    if len(args) == 1 or (len(args) == 2 and args[1] in HELP):
        try:
            print(usage())
        except ConfigurationError as exc:
            print(f"contactpoint: {exc.message}", file=sys.stderr)
            sys.exit(2)
        return
    if len(args) > 1:
        args[1] = ALIASES.get(args[1], args[1])
    try:
        execute_from_command_line(args)
    except ConfigurationError as exc:
        print(f"contactpoint: {exc.message}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
