"""The ``contactpoint`` command: Django's management commands under one name.

    contactpoint demo | serve | generate | ingest | keys rotate | audit verify | audit checkpoint | users ...

Refusals and bad input end with one line on stderr and a non-zero exit (commands raise ``CommandError``)."""

from __future__ import annotations

import os
import sys

from django.core.management import execute_from_command_line

from contactpoint.errors import ConfigurationError

# Command names with hyphens (Django's come from module names, which cannot have them).
ALIASES = {"export-links": "export_links"}


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "contactpoint.settings")
    args = ["contactpoint", *(sys.argv[1:] if argv is None else argv)]
    if len(args) > 1:
        args[1] = ALIASES.get(args[1], args[1])
    try:
        execute_from_command_line(args)
    except ConfigurationError as exc:
        print(f"contactpoint: {exc.message}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
