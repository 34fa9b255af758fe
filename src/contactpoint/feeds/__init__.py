"""Feeds: parse, validate, refuse with reasons (DESIGN.md section 2, the first stage of the data flow).

A source system's file is read into raw rows by its format (``formats``: CSV, JSON Lines, FHIR Bundle, DfE
Common Transfer File), and each raw row is validated into a ``FeedRow`` of Schedule 1 values or refused.
These are plain functions, none touches the database; ``models`` holds the record of each feed run and the
problems reported back to its source, which ingestion (``contactpoint.ingest``) writes. Ingestion builds on::

    with open(path, "rb") as stream:
        for raw in formats.read(formats.detect(path), stream):
            row, refusals = validate(raw, today=today)

docs/feeds.md is the guide for source-system owners.
"""

from __future__ import annotations

from contactpoint.feeds import formats
from contactpoint.feeds.formats import COLUMNS, RawRow, detect, read
from contactpoint.feeds.rows import WHOLE_ROW, FeedRow, FieldRefusal, Refusal
from contactpoint.feeds.validate import NOT_SCHEDULE_1, validate

__all__ = ["COLUMNS", "NOT_SCHEDULE_1", "WHOLE_ROW", "FeedRow", "FieldRefusal", "RawRow", "Refusal", "detect",
           "formats", "models", "read", "reading", "rows", "validate"]
