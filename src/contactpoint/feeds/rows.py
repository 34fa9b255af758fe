"""What validation makes of a raw row: an accepted ``FeedRow`` (the shape of a stored source record, defined in
``contactpoint.children.source_records``), and the refusals sent back to the source.

Two kinds of refusal, with the same shape and different consequences:

- ``Refusal``: the row was **not taken**. A required item is missing or a Schedule 1 value is wrong (a bad
  NHS number check digit, a date of birth in the future). Nothing from the row reaches the index until the
  source corrects it and sends it again.
- ``FieldRefusal``: the row **was taken without that field**. The field is not a Schedule 1 item at all
  (case information, or a column ContactPoint does not know); its value was discarded unread.

Neither ever contains the value it is about: ``reason`` says what is wrong and what is expected, because
refusals are reported back to the source system and written to logs (DESIGN.md section 1).
"""

from __future__ import annotations

from dataclasses import dataclass

from contactpoint.children.source_records import FeedRow

# The field name a Refusal uses when the row as a whole could not be read (not JSON, wrong cell count...).
WHOLE_ROW = "row"


@dataclass(frozen=True, slots=True)
class Refusal:
    """The row at ``line`` was not taken because of ``field`` (``WHOLE_ROW`` if it could not be read)."""

    line: int
    field: str
    reason: str


@dataclass(frozen=True, slots=True)
class FieldRefusal:
    """The row at ``line`` was taken, but ``field`` was not: it is not a Schedule 1 item."""

    line: int
    field: str
    reason: str


__all__ = ["WHOLE_ROW", "FeedRow", "FieldRefusal", "Refusal"]
