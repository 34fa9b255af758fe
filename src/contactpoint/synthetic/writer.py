"""CSV writers for the feed files (DESIGN.md section 5) and the answer key.

Rows are streamed: each is written as soon as it is made, so memory stays flat at any size. Every feed file
has exactly the documented columns in the documented order; a source leaves the columns it does not hold
empty. ``None`` is written empty and dates as YYYY-MM-DD (``str(date)``).
"""

from __future__ import annotations

import csv
from operator import itemgetter
from pathlib import Path
from types import TracebackType
from typing import Self

# DESIGN.md section 5: the CSV feed columns, in order.
FEED_COLUMNS: tuple[str, ...] = (
    "source_record_id", "given_name", "middle_names", "family_name", "former_family_names", "gender",
    "date_of_birth", "date_of_death", "nhs_number", "upn", "uln", "address_line_1", "address_line_2", "town",
    "postcode", "whereabouts", "carer_1_name", "carer_1_relationship", "carer_1_parental_responsibility",
    "carer_1_phone", "carer_2_name", "carer_2_relationship", "carer_2_parental_responsibility",
    "carer_2_phone", "setting_urn", "setting_name", "setting_start_date", "gp_practice_code",
    "gp_practice_name", "gp_start_date", "service_name", "practitioner_name", "practitioner_phone",
    "involvement_start_date", "involvement_end_date", "lead_professional", "caf_completed",
    "sensitive_service", "updated_at",
)
TRUTH_COLUMNS: tuple[str, ...] = ("source", "source_record_id", "person_id")

_KNOWN = frozenset(FEED_COLUMNS)
_BLANK = dict.fromkeys(FEED_COLUMNS)
_IN_ORDER = itemgetter(*FEED_COLUMNS)
_BUFFER = 1 << 20


def header_line(columns: tuple[str, ...]) -> bytes:
    return (",".join(columns) + "\n").encode()


class _CsvFile:
    """A CSV file being written. ``header=False`` for a part of a file, or to append to one."""

    def __init__(self, path: Path, columns: tuple[str, ...], *, header: bool = True,
                 append: bool = False) -> None:
        self.path = path
        self.rows = 0
        self._file = path.open("a" if append else "w", encoding="utf-8", newline="", buffering=_BUFFER)
        self._csv = csv.writer(self._file, lineterminator="\n")
        if header:
            self._csv.writerow(columns)

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


class FeedWriter(_CsvFile):
    """One source's feed file."""

    def __init__(self, path: Path, source: str, *, header: bool = True, append: bool = False) -> None:
        super().__init__(path, FEED_COLUMNS, header=header, append=append)
        self.source = source

    def write(self, row: dict[str, object]) -> None:
        # An unknown column is a programming error here, and a refusal at ingest (DESIGN.md section 1).
        if not _KNOWN.issuperset(row):
            raise ValueError(f"not a feed column: {', '.join(sorted(row.keys() - _KNOWN))}")
        self._csv.writerow(_IN_ORDER(_BLANK | row))
        self.rows += 1


class TruthWriter(_CsvFile):
    """truth.csv: which person each source row is about. The answer key for measuring match quality; it
    must never be loaded alongside the feeds."""

    def __init__(self, path: Path, *, header: bool = True) -> None:
        super().__init__(path, TRUTH_COLUMNS, header=header)

    def write(self, source: str, source_record_id: str, person_id: str) -> None:
        self._csv.writerow((source, source_record_id, person_id))
        self.rows += 1
