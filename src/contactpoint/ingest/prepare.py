"""Preparing a feed's batches: each row read, validated and keyed once, before the batch touches the database.

    file ─► read ─► validate ─► record key, content hash, payload ─► batches of entries (``Chunk``)
                                lookup tokens, match profile: worked out only for records new to the index

Everything here depends only on the row and the key ring's keyed hashes: no database, no child's data key.

The whole file is read once before the first batch is handed over, so a file that turns out unreadable part-way
(a CSV that stops being UTF-8 at row 90,000) is refused whole with nothing taken.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from io import BufferedReader, BytesIO
from pathlib import Path

import orjson
import pyarrow as pa

from contactpoint.children import source_records
from contactpoint.feeds import formats
from contactpoint.feeds.rows import FeedRow, InvalidValue, Problem, Refusal
from contactpoint.feeds.validate import validate
from contactpoint.ingest import spill
from contactpoint.ingest.spill import Spill
from contactpoint.matching.profile import arrow_table, profile_row
from contactpoint.names import forename_keys
from contactpoint.vault import blindindex as bi
from contactpoint.vault.keyring import IndexKeyRing
from contactpoint.vault.tokens import (
    dob_variants,
    identifier_tokens,
    matching_tokens,
    name_postcode_tokens,
    transposed_names_year_tokens,
)

REPEATED = "this source_record_id was already sent earlier in this feed; only the first row with it was taken"

# The row field each identifier index holds (its searchable and its match-only index alike).
IDENTIFIER_FIELD = {i.number: field for i, field in (
    (bi.NHS_NUMBER, "nhs_number"), (bi.MATCH_NHS_NUMBER, "nhs_number"), (bi.UPN, "upn"), (bi.MATCH_UPN, "upn"),
    (bi.ULN, "uln"))}
IDENTIFIER_FIELDS = tuple(sorted(set(IDENTIFIER_FIELD.values())))
# Every other index has a date of birth, a birth year or a postcode in its values.
assert set(IDENTIFIER_FIELD) == {i.number for i in bi.CATALOGUE} - bi.KEYED_BY_DOB - bi.KEYED_BY_YEAR - \
    bi.KEYED_BY_POSTCODE


def names_at_postcode(keyring: IndexKeyRing, row: FeedRow) -> set[int]:
    """The row's names at its postcode (match-only index 12): looked up on a batch's second look, and what a held
    row waits for besides its identifiers."""
    return name_postcode_tokens(keyring, keys=forename_keys(row.name.given),
                                family_names=[row.name.family, *row.former_family_names],
                                postcode=row.address.postcode if row.address else None)


def lookup_tokens(keyring: IndexKeyRing, row: FeedRow) -> dict[int, set]:
    """The tokens a row looks up, each with what a child must hold to be in its bucket for a reason: the dates
    of birth it stands for, ("birth_year", year) for a year's, or (field, value) for an identifier's and for a
    postcode's ("postcode", postcode)."""
    out: dict[int, set] = defaultdict(set)
    postcode = row.address.postcode if row.address else None
    for token in names_at_postcode(keyring, row):
        out[token].add(("postcode", postcode))
    if row.date_of_birth is None:  # every other token is keyed by the date of birth: the identifiers alone
        for token in identifier_tokens(keyring, nhs_number=row.nhs_number, upn=row.upn, uln=row.uln):
            identifier = IDENTIFIER_FIELD[bi.index_number(token)]
            out[token].add((identifier, getattr(row, identifier)))
        return out
    for dob in dob_variants(row.date_of_birth, fuzzy=True):
        for token in matching_tokens(
                keyring, given=row.name.given, family_names=[row.name.family, *row.former_family_names],
                date_of_birth=dob, postcode=postcode, nhs_number=row.nhs_number, upn=row.upn, uln=row.uln):
            field = IDENTIFIER_FIELD.get(bi.index_number(token))
            if field is not None:
                out[token].add((field, getattr(row, field)))
            else:
                out[token].add(("birth_year", dob.year) if bi.keyed_by_year(token) else dob)
    year = row.date_of_birth.year
    for token in transposed_names_year_tokens(keyring, given=row.name.given, family=row.name.family, year=year):
        out[token].add(("birth_year", year))
    return out


LACKS_BIRTH, LACKS_NAME = 1, 2


def lacks(row: FeedRow) -> int:
    return (0 if row.date_of_birth else LACKS_BIRTH) | (0 if row.name.given or row.name.family else LACKS_NAME)


@dataclass(slots=True)
class Entry:
    """One accepted row and what the pipeline derives from it. ``tokens`` and ``profile`` are needed only for a
    record the index does not hold yet, so they are worked out when first asked for."""

    row: FeedRow | None  # None once a helper process has worked out tokens and profile (processes._serve_reader)
    key: str  # the keyed record key: which source record this is, without its identifier in clear
    content_hash: str
    payload: bytes  # the row as sealed with its child's data key
    tokens: dict[int, set] | None = None
    profile: tuple | None = None  # matching.profile.profile_row
    flags: tuple[tuple[str, str], ...] = ()  # (field, reason) of each value the row was taken without
    line: int = 0
    lacks: int = 0  # LACKS_BIRTH | LACKS_NAME: what a new child needs that the row does not have

    def __reduce__(self) -> tuple:
        # One call to the constructor when unpickled (the reader process sends entries by the million), instead of
        # a Python-level state setter per field.
        return (Entry, (self.row, self.key, self.content_hash, self.payload, self.tokens, self.profile, self.flags,
                        self.line, self.lacks))

    def full_row(self) -> FeedRow:
        """The row, read again from the payload where a helper process left it out."""
        return self.row if self.row is not None else source_records.loads(self.payload, line=self.line)

    def lookup(self, keyring: IndexKeyRing) -> dict[int, set]:
        if self.tokens is None:
            assert self.row is not None  # a row is dropped only after its tokens were worked out
            self.tokens = lookup_tokens(keyring, self.row)
        return self.tokens

    def match_profile(self, source_kind: str) -> tuple:
        if self.profile is None:
            assert self.row is not None  # a row is dropped only after its profile was worked out
            self.profile = profile_row(self.key, source_kind, self.row)
        return self.profile


@dataclass(frozen=True, slots=True)
class Chunk:
    """A batch's rows as read: ``upto`` rows of the file are read with it (the unit of a run's ``rows_done``)."""

    upto: int
    entries: list[Entry]
    problems: list[Problem]
    refused: int  # rows not taken at all


# A feed's file: its bytes (an upload the API received, a test's rows) or, for a file on disk (``contactpoint
# ingest``), its path, read as a stream: a national file is gigabytes, and holding it would make a run's memory
# grow with the file.
FeedData = bytes | Path


@contextmanager
def opened(data: FeedData) -> Iterator[BufferedReader | BytesIO]:
    if isinstance(data, Path):
        with data.open("rb") as stream:
            yield stream
    else:
        yield BytesIO(data)


def sha256_of(data: FeedData) -> str:
    """The file's SHA-256 (hex), read as a stream: the same file again is the same run (or load)."""
    with opened(data) as stream:
        return hashlib.file_digest(stream, "sha256").hexdigest()


def size_of(data: FeedData) -> int:
    return data.stat().st_size if isinstance(data, Path) else len(data)


def chunks(data: FeedData, *, fmt: str, keyring: IndexKeyRing, source_code: str, today: date,
           skip: int, batch_size: int, seen: set[str] | None = None) -> Iterator[Chunk]:
    """The feed's batches, in file order, from row ``skip + 1`` on (the rows before were committed by an earlier
    attempt at the same file: they are read again only to know which record IDs came first). With ``seen``, a
    row whose record key is in it is refused as ``REPEATED``, and every key taken is added to it; without, the
    caller tells repeats (``ingest.run`` asks the database, so as not to keep a national file's keys)."""
    # The whole file must be readable before any of it is taken: a file found unreadable part-way (a CSV that
    # stops being UTF-8, a broken quote at row 90,000) is refused whole, with nothing from it kept.
    with opened(data) as stream:
        for _ in formats.read(fmt, stream):
            pass
    with opened(data) as stream:
        yield from _chunks(formats.read(fmt, stream), keyring=keyring, source_code=source_code, today=today,
                           skip=skip, batch_size=batch_size, seen=seen)


def _chunks(rows: Iterator, *, keyring: IndexKeyRing, source_code: str, today: date, skip: int, batch_size: int,
            seen: set[str] | None) -> Iterator[Chunk]:
    entries: list[Entry] = []
    problems: list[Problem] = []
    position = count = refused = 0
    for raw in rows:
        position += 1
        if position <= skip and seen is None:
            continue  # committed by an earlier attempt, and there is no ``seen`` to fill
        row, row_problems = validate(raw, today=today)
        if row is not None:
            key = source_records.record_key(keyring, source_code, row.source_record_id)
            if seen is not None and key in seen:
                row, row_problems = None, [*row_problems, Refusal(raw.line, "source_record_id", REPEATED)]
            elif seen is not None:
                seen.add(key)
        if position <= skip:
            continue
        count += 1
        problems.extend(row_problems)
        if row is None:
            refused += 1
        else:
            payload = source_records.dumps(row)
            flags = tuple((p.field, p.reason) for p in row_problems if isinstance(p, InvalidValue))
            # A row's flags count in its content hash: sending the bad value again changes nothing, correcting it
            # (or leaving it out) is a change, which closes its item.
            hashed = payload + orjson.dumps(flags) if flags else payload
            entries.append(Entry(row, key, source_records.content_hash(keyring, hashed), payload, flags=flags,
                                 line=row.line, lacks=lacks(row)))
        if count == batch_size:
            yield Chunk(position, entries, problems, refused)
            entries, problems, count, refused = [], [], 0, 0
    if count:
        yield Chunk(position, entries, problems, refused)


@dataclass(slots=True)
class ReadFile:
    """A whole file as a first load takes it (``ingest.load``): each accepted row sealed on disk for the write
    (``ingest.spill``), and in memory only what matching needs (the match profiles as Arrow, numbered by position
    in the file, and what each row lacks to make a child), with the rows refused and the problems found."""

    spill: Spill
    lacks: bytes  # LACKS_BIRTH | LACKS_NAME of each accepted row
    profiles: pa.Table  # ``matching.profile.SCHEMA``, with the row's position in the file as its unique_id
    problems: list[Problem]
    rows: int
    refused: int

    def __len__(self) -> int:
        return len(self.lacks)


def read_whole(data: FeedData, *, fmt: str, keyring: IndexKeyRing, source_code: str, source_kind: str,
               today: date, spill_to: Path, profiles: bool = True) -> ReadFile:
    """Every row of a file read, validated and keyed, each accepted row sealed into a file in ``spill_to``, with
    its match profile (unless ``profiles`` is False: a load resumed after matching needs only the rows)."""
    lacking = bytearray()
    tables: list[pa.Table] = [_numbered(arrow_table([]), 0)]
    problems: list[Problem] = []
    done = refused = 0
    with spill.writing(spill_to) as stored:
        for chunk in chunks(data, fmt=fmt, keyring=keyring, source_code=source_code, today=today, skip=0,
                            batch_size=10_000, seen=set()):
            done, refused = chunk.upto, refused + chunk.refused
            problems += chunk.problems
            if profiles:  # into Arrow a batch at a time: the batch's Python objects go as soon as they are copied
                tables.append(_numbered(arrow_table([e.match_profile(source_kind) for e in chunk.entries]),
                                        len(lacking)))
            for entry in chunk.entries:
                stored.add(entry.key, entry.content_hash, entry.line, entry.flags, entry.payload)
                lacking.append(entry.lacks)
        return ReadFile(stored.finish(), bytes(lacking), pa.concat_tables(tables).combine_chunks(), problems, done,
                        refused)


def _numbered(table: pa.Table, start: int) -> pa.Table:
    """The profiles with their rows' positions in the file as unique IDs: a national load's record keys as strings
    took gigabytes, and Splink joins integers faster (``ingest.load`` numbers them across the files)."""
    return table.set_column(table.schema.get_field_index("unique_id"), "unique_id",
                            pa.array(range(start, start + len(table)), type=pa.int64()))


__all__ = ["IDENTIFIER_FIELD", "IDENTIFIER_FIELDS", "LACKS_BIRTH", "LACKS_NAME", "REPEATED", "Chunk", "Entry",
           "FeedData", "ReadFile", "chunks", "opened", "read_whole", "lacks", "lookup_tokens", "sha256_of", "size_of"]
