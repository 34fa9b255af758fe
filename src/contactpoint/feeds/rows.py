"""What validation makes of a raw row: an accepted ``FeedRow`` (the shape of a stored source record, defined in
``contactpoint.children.source_records``), and the refusals sent back to the source.

Three kinds of problem, with the same shape and different consequences. One source's bad value costs that
value, never the child (DESIGN.md section 1):

- ``InvalidValue``: the row **was taken without that value**. A Schedule 1 value is wrong or missing (a bad NHS
  number check digit, a date of birth in the future, no date of birth at all): the child is matched on what
  the row still holds, and the value is flagged back to the source to correct, tracked until it is.
- ``FieldRefusal``: the row **was taken without that field**. The field is not a Schedule 1 item at all
  (case information, or a column ContactPoint does not know); its value was discarded unread.
- ``Refusal``: the row was **not taken**. Only a row that carries nothing to match a child on (no valid
  identifier and no name), that is not about a child (born more than 26 years ago), or that has no usable
  ``source_record_id`` (the source's own key, which every later update is matched by).

Neither ever contains the value it is about: ``reason`` says what is wrong and what is expected, because
refusals are reported back to the source system and written to logs (DESIGN.md section 1).
"""

from __future__ import annotations

from dataclasses import dataclass

from contactpoint.children.source_records import ENCODING, FeedRow

# The field name a Refusal uses when the row as a whole could not be read (not JSON, wrong cell count...).
WHOLE_ROW = "row"


@dataclass(frozen=True, slots=True)
class Refusal:
    """The row at ``line`` was not taken because of ``field`` (``WHOLE_ROW`` if it could not be read)."""

    line: int
    field: str
    reason: str


@dataclass(frozen=True, slots=True)
class InvalidValue:
    """The row at ``line`` was taken, but its ``field`` was not: the value is wrong or missing (``reason``)."""

    line: int
    field: str
    reason: str


@dataclass(frozen=True, slots=True)
class FieldRefusal:
    """The row at ``line`` was taken, but ``field`` was not: it is not a Schedule 1 item."""

    line: int
    field: str
    reason: str


# Whatever validation says about a row.
Problem = Refusal | InvalidValue | FieldRefusal


def taken_without(problem: Problem) -> bool:
    """Whether ``problem`` is a value or field a taken row was taken without (a run's ``fields_refused``). An
    ``InvalidValue`` for the row's ``ENCODING`` is not: the row was read in another encoding, and nothing lost."""
    return not isinstance(problem, Refusal) and problem.field != ENCODING


__all__ = ["ENCODING", "WHOLE_ROW", "FeedRow", "FieldRefusal", "InvalidValue", "Problem", "Refusal", "taken_without"]
