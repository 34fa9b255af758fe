"""Reading feed files from disk: which source a generated file is, and its validated rows."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

from contactpoint.feeds import formats
from contactpoint.feeds.rows import FeedRow
from contactpoint.feeds.validate import validate

# Source system codes by file name, as `contactpoint generate` writes them, and the kind of each source.
KIND_PREFIXES = (("gp-registrations", "gp_registrations"), ("child-benefit", "child_benefit"),
                 ("school-census-", "school_census"), ("la-social-care-", "la_social_care"))


def kind_of(source_code: str) -> str:
    return next((kind for prefix, kind in KIND_PREFIXES if source_code.startswith(prefix)), "other")


def feed_files(directory: Path) -> list[Path]:
    """The feed files of a generated directory, national sources first (the order a first load takes)."""
    files = [p for p in directory.iterdir() if p.suffix in (".csv", ".jsonl", ".json", ".xml")
             and p.stem != "truth"]
    order = {prefix: i for i, (prefix, _) in enumerate(KIND_PREFIXES)}
    return sorted(files, key=lambda p: (next((order[k] for k in order if p.stem.startswith(k)), 99), p.name))


def accepted_rows(path: Path, today: date) -> Iterator[FeedRow]:
    with path.open("rb") as stream:
        for raw in formats.read(formats.detect(path.name), stream):
            row, _ = validate(raw, today=today)
            if row is not None:
                yield row
