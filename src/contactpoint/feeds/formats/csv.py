"""CSV feeds (DESIGN.md section 5): UTF-8, a header row, then one row per child.

Files as spreadsheets save them are read too. A line that is not UTF-8 is read as Windows-1252 (Excel's "CSV
(Comma delimited)" on Windows) and the row is flagged to the source (``raw.decoded``). A header with no comma
but tabs or semicolons (Excel's "Text (Tab delimited)", or a machine whose list separator is a semicolon) sets
the file's delimiter.

Line numbers are physical lines of the file, counting the header as line 1, and a row's number is the line
it *starts* on: a quoted address that runs over three lines is one row, and the row after it is numbered
three lines later. That is the number a source's own editor shows, so it is the one we report back.

The whole feed is refused (``FeedRejected``) when it cannot be read as a table at all: an empty file, no
header, no ``source_record_id`` column, UTF-16, broken quoting. These are found while
reading, so ``read`` may raise after it has already yielded rows: the caller treats the feed as refused
whatever it has seen (feeds are idempotent, DESIGN.md section 5, so nothing is lost by starting again).
"""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Iterable, Iterator
from typing import BinaryIO

from contactpoint.errors import FeedRejected
from contactpoint.feeds.formats.raw import (
    COLUMNS,
    KNOWN_COLUMNS,
    MAX_LINE_BYTES,
    UTF16_BOMS,
    UTF16_REFUSED,
    RawRow,
    blank_fields,
    decoded,
    header_columns,
    physical_lines,
)

_BOM = b"\xef\xbb\xbf"
_CSV_TROUBLE = ("a quote is misplaced or not closed, or a line ends in a bare carriage return (lines end in "
                "LF or CRLF), so rows cannot be told apart")


def _decoded_lines(stream: BinaryIO, read_as: dict[int, str]) -> Iterator[str]:
    """The file's lines as text, line endings kept (the csv module needs them inside quoted values). The
    number of each line that was not UTF-8 goes into ``read_as``, with the encoding it was read in."""
    for number, line, too_long in physical_lines(stream):
        if too_long:
            raise FeedRejected(f"line {number} is longer than {MAX_LINE_BYTES // (1 << 20)} MiB")
        if number == 1:
            if line.startswith(UTF16_BOMS):
                raise FeedRejected(UTF16_REFUSED)
            line = line.removeprefix(_BOM)
        text, encoding = decoded(line)
        if encoding is not None:
            read_as[number] = encoding
        yield text


def _delimiter(header: str) -> str:
    """The file's delimiter, from its header: a comma, unless the header has none and has tabs or semicolons
    (no column name holds either). A one-column header, which has none of them, is read with commas."""
    if "," not in header:
        for other in ("\t", ";"):
            if other in header:
                return other
    return ","


def _columns(header: list[str]) -> list[str]:
    """The header's column names. A name may be any text, since unknown columns are refused one by one
    later, but a column named twice makes the table ambiguous, so that refuses the feed. Headers written as
    spreadsheets write them are read as the columns they name (``raw.header_columns``)."""
    names: list[str] = []
    seen: dict[str, int] = {}
    for position, cell in enumerate(header_columns(header), start=1):
        name = cell or f"(unnamed column {position})"
        if name in seen:
            # Name the column only if it is one of ours: an unknown header might be a row of data.
            what = name if name in KNOWN_COLUMNS else \
                f"columns {seen[name]} and {position} have the same name"
            raise FeedRejected(f"the header row names a column twice: {what}")
        seen[name] = position
        names.append(name)
    if "source_record_id" not in seen:
        raise FeedRejected("the header row has no source_record_id column "
                           "(the first line must be the header)")
    return names


def read(stream: BinaryIO) -> Iterator[RawRow]:
    """Raw rows of a CSV feed, one per non-blank row, numbered by the physical line each starts on."""
    read_as: dict[int, str] = {}
    lines = _decoded_lines(stream, read_as)
    first = next(lines, None)
    reader = csv.reader(itertools.chain([first] if first is not None else [], lines),
                        delimiter=_delimiter(first or ""), strict=True)
    try:
        header = next(reader, None)
    except csv.Error:
        raise FeedRejected(f"the header row is not valid CSV: {_CSV_TROUBLE}") from None
    if header is None:
        raise FeedRejected("the file is empty: a CSV feed starts with a header row")
    if not header:
        raise FeedRejected("the first line is blank: a CSV feed starts with a header row")
    columns = _columns(header)
    last = reader.line_num
    while True:
        start = last + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error:
            raise FeedRejected(f"the file is not valid CSV from line {start}: {_CSV_TROUBLE}") from None
        last = reader.line_num
        if not cells:
            continue  # a blank line is not a row
        if len(cells) != len(columns):
            yield RawRow(start, problem=f"the row has {len(cells)} cells but the header has {len(columns)} "
                                        "(an unquoted comma or line break?)")
            continue
        fields = blank_fields()
        fields.update(zip(columns, cells, strict=True))
        encoding = None
        if read_as:  # taken as the rows go, so a large file in Windows-1252 is not remembered line by line
            for number in range(start, last + 1):
                encoding = read_as.pop(number, None) or encoding
        yield RawRow(start, fields, read_as=encoding)


def _cell(value: object) -> str:
    return "" if value is None else str(value)


def write(rows: Iterable[dict[str, str]], stream: BinaryIO) -> None:
    """A CSV feed of ``rows``: the documented columns in order, then any extra keys the rows carry."""
    rows = list(rows)
    extras = list(dict.fromkeys(key for row in rows for key in row if key not in KNOWN_COLUMNS))
    header = [*COLUMNS, *extras]
    text = io.TextIOWrapper(stream, encoding="utf-8", newline="")
    try:
        writer = csv.writer(text, lineterminator="\n")
        writer.writerow(header)
        for row in rows:
            writer.writerow([_cell(row.get(column)) for column in header])
        text.flush()
    finally:
        text.detach()  # the caller owns the stream: do not close it with the wrapper
