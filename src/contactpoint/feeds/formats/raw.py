"""The raw row: what every feed format is read into before anything is checked.

A raw row is a ``dict[str, str]`` keyed by the CSV column names of DESIGN.md section 5, exactly those
names, with ``""`` for unknown, plus any other key the source sent. Extra keys are kept, not dropped, so
that validation can refuse them one by one and the source learns what it should stop sending
(DESIGN.md section 1: anything beyond Schedule 1 is refused, field by field, and reported back).

Readers never judge values; they only turn bytes into raw rows. A row that cannot even be read (a JSON
Lines line that is not JSON, a CSV row with the wrong number of cells) becomes a ``RawRow`` with a
``problem``; a file that cannot be read at all raises ``FeedRejected``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import BinaryIO

# DESIGN.md section 5, in order. Columns may be added; none may be renamed.
COLUMNS: tuple[str, ...] = (
    "source_record_id", "given_name", "middle_names", "family_name", "former_family_names", "gender",
    "date_of_birth", "date_of_death", "nhs_number", "upn", "uln", "address_line_1", "address_line_2", "town",
    "postcode", "whereabouts", "carer_1_name", "carer_1_relationship", "carer_1_parental_responsibility",
    "carer_1_phone", "carer_2_name", "carer_2_relationship", "carer_2_parental_responsibility", "carer_2_phone",
    "setting_urn", "setting_name", "setting_start_date", "gp_practice_code", "gp_practice_name", "gp_start_date",
    "service_name", "practitioner_name", "practitioner_phone", "involvement_start_date", "involvement_end_date",
    "lead_professional", "caf_completed", "sensitive_service", "updated_at",
)
KNOWN_COLUMNS = frozenset(COLUMNS)
CARER_PARTS = ("name", "relationship", "parental_responsibility", "phone")
CARER_COLUMNS = tuple(f"carer_{n}_{part}" for n in (1, 2) for part in CARER_PARTS)

# Headers as spreadsheets and other systems write them, read as the column they name (``header_columns``).
COLUMN_ALIASES: dict[str, str] = {
    "forename": "given_name", "forenames": "given_name", "first_name": "given_name", "firstname": "given_name",
    "given_names": "given_name", "middle_name": "middle_names", "surname": "family_name",
    "last_name": "family_name", "lastname": "family_name", "former_surnames": "former_family_names",
    "previous_surnames": "former_family_names", "sex": "gender", "dob": "date_of_birth",
    "birth_date": "date_of_birth", "birthdate": "date_of_birth", "dod": "date_of_death", "nhs_no": "nhs_number",
    "nhsnumber": "nhs_number", "nhs_num": "nhs_number", "address_1": "address_line_1", "address1": "address_line_1",
    "address_line1": "address_line_1", "address_2": "address_line_2", "address2": "address_line_2",
    "address_line2": "address_line_2", "town_city": "town", "town_or_city": "town", "city": "town",
    "post_code": "postcode",
    # A school's management system (SIMS and its like) heads names as the law records them.
    "legal_forename": "given_name", "legal_forenames": "given_name", "forename_s": "given_name",
    "legal_surname": "family_name", "middle_name_s": "middle_names", "legal_middle_name_s": "middle_names",
}
_NOT_WORD = re.compile(r"[^a-z0-9]+")


@functools.lru_cache(maxsize=1024)
def column_named(cell: str) -> str | None:
    """The documented column a header cell names in another case or spacing, or by another name, if any."""
    word = _NOT_WORD.sub("_", cell.strip().lower()).strip("_")
    return word if word in KNOWN_COLUMNS else COLUMN_ALIASES.get(word)


def header_columns(header: Sequence[str]) -> list[str]:
    """The columns a header's cells name. A cell that is a column's name is that column; otherwise one that
    names a column in another case or spacing ("Date of Birth", "NHS-Number"), or by a common other name
    ("Surname", "DOB", ``COLUMN_ALIASES``), is read as it, unless the header names that column exactly, or by
    another name further left ("DOB" and "Date of birth" both): then the cell is kept as it is. Any other cell
    is kept as it is too, so that its column is refused field by field and the rows are taken without it. A
    header exported from a spreadsheet would otherwise have every column refused, and every row lose its names
    and date of birth."""
    taken = {cell.strip() for cell in header} & KNOWN_COLUMNS
    out = []
    for cell in header:
        name = cell.strip()
        if name not in KNOWN_COLUMNS:
            column = column_named(name)
            if column is not None and column not in taken:
                name = column
                taken.add(column)
        out.append(name)
    return out


# The value given to an extra key read from a structured format (FHIR, CTF). The element's content is
# never copied into the row: it is case information ContactPoint must not hold, even in passing, and the
# refusal only needs to know that the element carried something.
NOT_READ = "(content not read)"

# No line of a feed may be longer than this; a longer one is not a row a source meant to send.
MAX_LINE_BYTES = 1 << 20


@dataclass(frozen=True, slots=True)
class RawRow:
    """One row as read from a feed file, before validation.

    ``line`` locates the row for the source (each format documents what it counts: a physical line, a
    Bundle entry, a Pupil element). ``source_line`` is the physical line in the file where the format has
    one and it differs from ``line`` (the CTF Pupil's start tag). ``problem`` is set, and ``fields`` may be
    empty, when the row could not be read at all; it never contains a value from the row. ``read_as`` names
    the encoding a row of text was read in when its bytes were not UTF-8: validation flags it to the source.
    """

    line: int
    fields: dict[str, str] = field(default_factory=dict)
    problem: str | None = None
    source_line: int | None = None
    read_as: str | None = None  # the encoding the row was read in, when it was not UTF-8 (``decoded``)


def blank_fields() -> dict[str, str]:
    """Every documented column, unknown."""
    return dict.fromkeys(COLUMNS, "")


def unique_key(fields: dict[str, str], key: str) -> str:
    """``key``, or ``key[2]``, ``key[3]``... if the row already has it (a repeated XML element or FHIR
    identifier must be refused as often as it was sent, not merged)."""
    if key not in fields:
        return key
    n = 2
    while f"{key}[{n}]" in fields:
        n += 1
    return f"{key}[{n}]"


def physical_lines(stream: BinaryIO) -> Iterator[tuple[int, bytes, bool]]:
    """(line number, bytes with the line ending, too long?) for each physical line of a binary stream.

    Lines end at LF (so CRLF too). A line longer than ``MAX_LINE_BYTES`` is reported as too long, with its
    bytes cut short, and the rest of it is skipped, so one endless line cannot exhaust memory."""
    number = 0
    while True:
        chunk = stream.readline(MAX_LINE_BYTES + 1)
        if not chunk:
            return
        number += 1
        too_long = len(chunk) > MAX_LINE_BYTES and not chunk.endswith(b"\n")
        if too_long:
            while (rest := stream.readline(MAX_LINE_BYTES)) and not rest.endswith(b"\n"):
                pass
        yield number, chunk, too_long


# Excel on Windows saves "CSV (Comma delimited)" in the machine's code page, which in England is Windows-1252:
# Zoë, Siân and Seán arrive as single bytes that are not UTF-8.
WINDOWS_1252 = "Windows-1252"
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
UTF16_REFUSED = ("the file is UTF-16 (Excel's \"Unicode Text\"), not UTF-8: save it as \"CSV UTF-8\" and send it "
                 "again")


def decoded(line: bytes) -> tuple[str, str | None]:
    """A line of a text feed as text, and the encoding it was read in if that was not UTF-8.

    A line that is not UTF-8 is read as Windows-1252 rather than refused: one accented name in a spreadsheet's
    export would otherwise cost every child in the file. Windows-1252 leaves five bytes undefined; a line with
    one of them is read as Latin-1, which makes them control characters, and the value that holds one is
    refused as text with control characters in it. A UTF-8 line is never read as anything else, so a file
    that mixes the two (rows pasted in from elsewhere) reads right line by line."""
    try:
        return line.decode("utf-8"), None
    except UnicodeDecodeError:
        pass
    try:
        return line.decode("cp1252"), WINDOWS_1252
    except UnicodeDecodeError:
        return line.decode("latin-1"), WINDOWS_1252


def without_line_ending(line: bytes) -> bytes:
    return line.removesuffix(b"\n").removesuffix(b"\r")
