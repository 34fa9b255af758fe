"""Feed formats: each turns a file into raw rows (``RawRow``) and raw rows back into a file.

Four formats share one raw-row vocabulary (``raw.COLUMNS``), so everything after reading (validation,
matching, refusals back to the source) is the same whatever a source sends:

========  ====================================  ==============================================
format    files                                 a row's ``line`` is
========  ====================================  ==============================================
csv       ``.csv``                              the physical line the row starts on (header = 1)
jsonl     ``.jsonl``, ``.ndjson``               the physical line
fhir      ``.json`` (a FHIR R4 Bundle)          the 1-based position of the Patient entry
ctf       ``.xml`` (DfE Common Transfer File)   the 1-based position of the Pupil element
========  ====================================  ==============================================
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import PurePath
from typing import BinaryIO

from contactpoint.errors import FeedRejected
from contactpoint.feeds.formats import csv, ctf, fhir, jsonl
from contactpoint.feeds.formats.raw import COLUMNS, KNOWN_COLUMNS, RawRow

__all__ = ["COLUMNS", "FORMATS", "KNOWN_COLUMNS", "RawRow", "detect", "read", "write"]

Reader = Callable[[BinaryIO], Iterator[RawRow]]
Writer = Callable[[Iterable[dict[str, str]], BinaryIO], None]

FORMATS: dict[str, tuple[Reader, Writer]] = {
    "csv": (csv.read, csv.write),
    "jsonl": (jsonl.read, jsonl.write),
    "fhir": (fhir.read, fhir.write),
    "ctf": (ctf.read, ctf.write),
}
_EXTENSIONS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "fhir", ".xml": "ctf"}


def detect(filename: str) -> str:
    """The format of a feed file, from its extension (case does not matter)."""
    fmt = _EXTENSIONS.get(PurePath(filename).suffix.lower())
    if fmt is None:
        raise FeedRejected("unknown feed format: send .csv, .jsonl or .ndjson, .json (a FHIR Bundle) "
                           "or .xml (a Common Transfer File)")
    return fmt


def _format(fmt: str) -> tuple[Reader, Writer]:
    try:
        return FORMATS[fmt]
    except KeyError:
        raise FeedRejected(f"unknown feed format: use one of {', '.join(FORMATS)}") from None


def read(fmt: str, stream: BinaryIO) -> Iterator[RawRow]:
    """Raw rows of a feed in format ``fmt`` (see ``detect``), read lazily from a binary stream.

    Raises ``FeedRejected`` when the file as a whole cannot be read; this can happen after some rows have
    been yielded (a CSV that stops being UTF-8 halfway), and then the whole feed is refused."""
    return _format(fmt)[0](stream)


def write(fmt: str, rows: Iterable[dict[str, str]], stream: BinaryIO) -> None:
    """Write raw-row dicts as a feed in format ``fmt`` (for tests, demos and converting a source's files)."""
    _format(fmt)[1](rows, stream)
