"""Match profiles straight from feed files on disk, without the index: what ``contactpoint match train`` and
``match evaluate`` work on (and the tests of the two matching engines)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from contactpoint.feeds.reading import accepted_rows, feed_files, kind_of
from contactpoint.matching.profile import profile


def profiles_of(directory: Path, *, today: date) -> list[dict[str, Any]]:
    """Every accepted row of the feed files in ``directory`` (national sources first), profiled for Splink with
    ``SOURCE|RECORD_ID`` as its unique ID."""
    out: list[dict[str, Any]] = []
    for path in feed_files(directory):
        source = path.stem
        out.extend(profile(f"{source}|{row.source_record_id}", kind_of(source), row)
                   for row in accepted_rows(path, today))
    return out
