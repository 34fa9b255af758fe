from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import CommandError
from django.utils import timezone
from tqdm import tqdm

from contactpoint.access.models import SourceSystem
from contactpoint.commands import ContactPointCommand
from contactpoint.errors import FeedRejected
from contactpoint.feeds import formats
from contactpoint.ingest.load import WRITE_GROUPS, LoadFile, load
from contactpoint.matching.engine import backend
from contactpoint.vault.keyring import get_keyring

STAGES = {"read": ("reading and validating", " files"), "match": ("matching (Splink)", ""),
          "write": ("writing children", " children")}


class Command(ContactPointCommand):
    help = ("The first load of an empty index: every source's file as one job. "
            "contactpoint load SOURCE=FILE [SOURCE=FILE ...], in the order feeds would come in.")

    def add_arguments(self, parser) -> None:
        parser.add_argument("files", nargs="+", metavar="SOURCE=FILE",
                            help="a registered source system's code and its file (everything it holds)")
        parser.add_argument("--batch-size", type=int, default=WRITE_GROUPS,
                            help="new children written per transaction (the unit a stopped load resumes from)")
        parser.add_argument("--backend", choices=["duckdb", "spark"], help="matching backend (default: setting)")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1")
        files = []
        for item in options["files"]:
            code, sep, name = item.partition("=")
            if not sep or not name:
                raise CommandError(f"'{item}': give each file as SOURCE=FILE")
            source = SourceSystem.objects.select_related("organisation").filter(code=code).first()
            if source is None:
                raise CommandError(f"no source system '{code}': register it first")
            path = Path(name)
            try:
                with path.open("rb"):  # read as a stream by the load's readers: only checked here
                    pass
            except OSError:
                raise CommandError(f"cannot read {path}") from None
            files.append(LoadFile(source, path, formats.detect(path.name)))
        bars: dict[str, tqdm] = {}

        def progress(stage: str, done: int, total: int) -> None:
            bar = bars.get(stage)
            if bar is None:
                for other in bars.values():
                    other.close()
                words, unit = STAGES[stage]
                bar = bars[stage] = tqdm(total=total, desc=words, unit=unit, disable=None, file=self.stderr)
            bar.update(done - bar.n)

        try:
            outcome = load(files, keyring=get_keyring(), now=timezone.now(), engine=backend(options["backend"]),
                           progress=progress, batch_size=options["batch_size"])
        except FeedRejected as refused:
            raise CommandError(refused.message) from None
        finally:
            for bar in bars.values():
                bar.close()
        run = outcome.load
        if outcome.already_done:
            self.stdout.write(f"these files were loaded before (load {run.id}, {run.completed_at:%Y-%m-%d %H:%M}): "
                              "nothing changed")
            return
        self.stdout.write(f"load {run.id}: {run.records} records, {run.groups_total} children, "
                          f"{run.pairs_scored} pairs scored; seconds: " +
                          ", ".join(f"{stage} {s}" for stage, s in run.seconds.items()))
        for feed in outcome.runs:
            self.stdout.write(
                f"  {feed.source.code}: run {feed.id}: {feed.rows_done} rows; {feed.rows_accepted} accepted, "
                f"{feed.rows_refused} refused, {feed.fields_refused} values or fields taken without, "
                f"{feed.rows_held} held; {feed.children_created} new children, {feed.records_linked} records "
                f"linked, {feed.reviews_queued} pairs queued for review")
