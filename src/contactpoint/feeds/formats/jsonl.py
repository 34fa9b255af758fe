"""JSON Lines feeds: one JSON object per line, with the keys of the CSV columns (DESIGN.md section 5).

Line numbers are physical lines; blank lines are skipped but counted. Each line stands alone, so a line
that is not a JSON object refuses that row only, never the feed. A line that is not UTF-8 is read as
Windows-1252 and flagged, as in a CSV (``raw.decoded``). Values are strings; ``null`` and a
missing key mean unknown; numbers and booleans are taken as their text (``4234306118``, ``true``), and
``former_family_names`` may also be a list of strings. Any other key is kept so that it can be refused.
An empty file is refused whole: it is more likely a failed export than a source with nothing to say.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any, BinaryIO

from contactpoint.errors import FeedRejected
from contactpoint.feeds.formats.raw import (
    COLUMNS,
    KNOWN_COLUMNS,
    MAX_LINE_BYTES,
    NOT_READ,
    UTF16_BOMS,
    UTF16_REFUSED,
    RawRow,
    blank_fields,
    decoded,
    physical_lines,
    without_line_ending,
)

_BOM = b"\xef\xbb\xbf"


class _Unreadable(ValueError):
    """A line that cannot be a row; its message is safe to send back (it names no value)."""


def _no_repeated_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    if len(set(keys)) != len(keys):
        repeated = sorted({key for key in keys if keys.count(key) > 1} & KNOWN_COLUMNS)
        named = f": {', '.join(repeated)}" if repeated else ""
        raise _Unreadable(f"a key appears twice in the object{named}")
    return dict(pairs)


def _text(key: str, value: Any) -> str:
    """A documented column's value as text."""
    if value is None:
        return ""
    if isinstance(value, bool):  # before int: bool is an int
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return json.dumps(value)
    if key == "former_family_names" and isinstance(value, list) and all(isinstance(v, str) for v in value):
        return ";".join(value)
    raise _Unreadable(f"{key}: the value must be a string")


def _carries_value(value: Any) -> bool:
    return value not in (None, "", [], {})


def _row(line: bytes) -> tuple[dict[str, str], str | None]:
    """The line's fields, and the encoding it was read in if it was not UTF-8 (``raw.decoded``)."""
    text, read_as = decoded(line)
    try:
        obj = json.loads(text, object_pairs_hook=_no_repeated_keys)
    except _Unreadable:
        raise
    except (ValueError, RecursionError):
        raise _Unreadable("the line is not JSON") from None
    if not isinstance(obj, dict):
        raise _Unreadable("the line is not a JSON object")
    fields = blank_fields()
    for key, value in obj.items():
        if key in KNOWN_COLUMNS:
            fields[key] = _text(key, value)
        elif isinstance(value, str):
            fields[key] = value
        else:  # structured content in a key we do not know: refuse it without reading it
            fields[key] = NOT_READ if _carries_value(value) else ""
    return fields, read_as


def read(stream: BinaryIO) -> Iterator[RawRow]:
    """Raw rows of a JSON Lines feed, numbered by physical line."""
    seen_any = False
    for number, line, too_long in physical_lines(stream):
        if number == 1:
            if line.startswith(UTF16_BOMS):
                raise FeedRejected(UTF16_REFUSED)
            line = line.removeprefix(_BOM)
        if too_long:
            seen_any = True
            yield RawRow(number, problem=f"the line is longer than {MAX_LINE_BYTES // (1 << 20)} MiB")
            continue
        line = without_line_ending(line)
        if not line.strip():
            continue
        seen_any = True
        try:
            fields, read_as = _row(line)
        except _Unreadable as problem:
            yield RawRow(number, problem=str(problem))
            continue
        yield RawRow(number, fields, read_as=read_as)
    if not seen_any:
        raise FeedRejected("the file is empty: a JSON Lines feed has one JSON object per line")


def write(rows: Iterable[dict[str, str]], stream: BinaryIO) -> None:
    """One compact JSON object per row; unknown (empty) values are left out, as a reader takes them."""
    order = {column: n for n, column in enumerate(COLUMNS)}

    def position(item: tuple[str, object]) -> int:
        return order.get(item[0], len(order))

    for row in rows:
        obj = {key: str(value) for key, value in sorted(row.items(), key=position) if value not in (None, "")}
        stream.write(json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n")
