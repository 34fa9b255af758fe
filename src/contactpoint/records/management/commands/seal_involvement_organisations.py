"""``contactpoint seal_involvement_organisations``: run once after records migration 0006, with the key ring
mounted. Seals the organisation of practitioners' involvements recorded before it was sealed and empties the old
clear column. Resumable and safe to run again (docs/involvements.md, "Upgrading")."""

from __future__ import annotations

from typing import Any

from contactpoint.commands import ContactPointCommand
from contactpoint.records.involvements import seal_organisations
from contactpoint.vault.keyring import get_keyring


class Command(ContactPointCommand):
    help = "Seal the organisation of involvements recorded before records migration 0006."

    def handle(self, *args: Any, **options: Any) -> None:
        count = seal_organisations(get_keyring())
        self.stdout.write(f"{count} involvement(s) sealed; none left with the organisation in clear")
