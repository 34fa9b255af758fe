from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import CommandError
from django.utils import timezone
from tqdm import tqdm

from contactpoint.access.models import SourceSystem
from contactpoint.commands import ContactPointCommand
from contactpoint.feeds import formats
from contactpoint.feeds.models import RowProblem
from contactpoint.ingest.run import BATCH_SIZE, ingest
from contactpoint.matching.engine import backend
from contactpoint.vault.keyring import get_keyring


class Command(ContactPointCommand):
    help = "Take in a feed file from a registered source system: contactpoint ingest SOURCE FILE."

    def add_arguments(self, parser) -> None:
        parser.add_argument("source", help="the source system's code (see 'contactpoint users register-source')")
        parser.add_argument("file", type=Path)
        parser.add_argument("--format", choices=sorted(formats.FORMATS), help="default: from the file's extension")
        parser.add_argument("--mode", choices=["delta", "full"], default="delta",
                            help="full: the file is everything the source holds (others stop counting)")
        parser.add_argument("--batch-size", type=int, default=BATCH_SIZE)
        parser.add_argument("--backend", choices=["duckdb", "spark"], help="matching backend (default: setting)")
        parser.add_argument("--show-problems", type=int, default=20, help="how many refusals to print")

    def handle(self, *args: Any, **options: Any) -> None:
        source = SourceSystem.objects.select_related("organisation").filter(code=options["source"]).first()
        if source is None:
            raise CommandError(f"no source system '{options['source']}': register it first")
        path: Path = options["file"]
        try:
            with path.open("rb"):  # read as a stream by the run (a national file is gigabytes): only checked here
                pass
        except OSError:
            raise CommandError(f"cannot read {path}") from None
        fmt = options["format"] or formats.detect(path.name)
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1")
        with tqdm(unit=" rows", desc=f"{source.code}", disable=None, file=self.stderr) as bar:
            seen = [0]

            def progress(done: int) -> None:
                bar.update(done - seen[0])
                seen[0] = done

            outcome = ingest(source, path, fmt=fmt, mode=options["mode"], keyring=get_keyring(), now=timezone.now(),
                             engine=backend(options["backend"]), batch_size=options["batch_size"],
                             progress=progress)
        run = outcome.run
        if outcome.already_done:
            self.stdout.write(f"this file was taken before (run {run.id}, {run.completed_at:%Y-%m-%d %H:%M}): "
                              "nothing changed")
            return
        self.stdout.write(
            f"run {run.id}: {run.rows_done} rows; {run.rows_accepted} accepted ({run.rows_unchanged} unchanged), "
            f"{run.rows_refused} refused, {run.fields_refused} values or fields taken without, {run.rows_held} held; "
            f"{run.children_created} new children, {run.records_linked} records linked, {run.reviews_queued} pairs "
            f"queued for review, {run.children_merged} pairs of children merged")
        for problem in RowProblem.objects.filter(run=run)[:options["show_problems"]]:
            kind = {"row": "row refused", "value": "value not taken"}.get(problem.kind, "field refused")
            self.stdout.write(f"  line {problem.line}: {kind}: {problem.field}: {problem.reason}")
