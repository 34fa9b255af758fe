"""What validation makes of a raw row: an accepted ``FeedRow``, and the refusals sent back to the source.

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
from datetime import date

from contactpoint.children.record import (
    Address,
    Carer,
    EducationSetting,
    Gender,
    GPPractice,
    Involvement,
    PersonName,
    WhereaboutsState,
)

# The field name a Refusal uses when the row as a whole could not be read (not JSON, wrong cell count...).
WHOLE_ROW = "row"


@dataclass(frozen=True, slots=True)
class FeedRow:
    """One accepted row: Schedule 1 values, checked and normalised, as one source knows the child.

    ``line`` is the row's position as the format counts it (see ``contactpoint.feeds.formats``).
    ``involvement.key`` is empty: the pipeline gives each involvement a key stable across updates.
    """

    line: int
    source_record_id: str
    name: PersonName
    former_family_names: tuple[str, ...] = ()
    gender: Gender | None = None
    date_of_birth: date | None = None
    date_of_death: date | None = None
    nhs_number: str | None = None
    upn: str | None = None
    uln: str | None = None
    address: Address | None = None
    whereabouts: WhereaboutsState | None = None
    carers: tuple[Carer, ...] = ()
    education: EducationSetting | None = None
    gp: GPPractice | None = None
    involvement: Involvement | None = None
    updated_at: date | None = None


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
