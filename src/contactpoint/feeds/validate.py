"""Validation: a raw row becomes a ``FeedRow`` of the values that are right, with one reason per problem.

Every problem in a row is found and reported, not just the first, so a source can correct a row in one go.
A wrong or missing Schedule 1 value costs that value, never the child: the row is taken without it
(``InvalidValue``, flagged back to the source). A column that is not a Schedule 1 item is refused on its own
and the row is taken without it (``FieldRefusal``). Only a row with nothing to match a child on, one about
someone born more than 26 years ago, or one without a usable ``source_record_id`` is not taken
(``Refusal``). Reasons never repeat the value (they go back to the source and into logs): they say which rule
the value broke.

``today`` is an argument, not the clock, so that the pipeline, the tests and a re-run of an old feed agree
on what "in the future" means.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from datetime import date, timedelta
from functools import lru_cache
from typing import TypeVar

from contactpoint.children.identifiers import (
    MAX_AGE_YEARS,
    MAX_NAME,
    MAX_ORGANISATION,
    MAX_RELATIONSHIP,
    MAX_TEXT,
    check_not_future,
    has_invisible,
    normalise_gp_practice_code,
    normalise_nhs_number,
    normalise_phone,
    normalise_postcode,
    normalise_setting_urn,
    normalise_uln,
    normalise_upn,
)
from contactpoint.children.record import (
    Address,
    Carer,
    EducationSetting,
    Gender,
    GPPractice,
    Involvement,
    PersonName,
    SensitiveCategory,
    WhereaboutsState,
)
from contactpoint.errors import ValidationError
from contactpoint.feeds.formats.raw import CARER_PARTS, COLUMNS, KNOWN_COLUMNS, NOT_READ, RawRow, column_named
from contactpoint.feeds.rows import ENCODING, WHOLE_ROW, FeedRow, FieldRefusal, InvalidValue, Problem, Refusal

T = TypeVar("T")

NOT_SCHEDULE_1 = "not a Schedule 1 item: ContactPoint holds basic information only, never case information"
NOTHING_TO_MATCH = ("nothing to match a child on: the row needs a valid NHS number, UPN or ULN, or the child's "
                    "name")


def read_in(encoding: str) -> str:
    """The reason given for a row that was not UTF-8 (it was taken, read in ``encoding``)."""
    return (f"the line is not UTF-8: it was read as {encoding}, the encoding Excel on Windows saves CSV in; "
            "check that its names read right, and send UTF-8 (\"CSV UTF-8\")")


TOO_OLD = ("date of birth more than 26 years ago: ContactPoint holds children, and care leavers only up to 25")
MAX_RECORD_ID = 64
# Systems that must fill a date of birth write a placeholder when they do not know it (1900-01-01, Excel's
# 1899-12-31, 0001-01-01, SQL Server's 1753-01-01). No one under ContactPoint was born so long ago, and such a
# row is about a child whose birthday is unknown, not about an adult: it costs the date, not the row.
_PLACEHOLDER_BIRTHS = date(1901, 12, 31)
PLACEHOLDER_BIRTH = ("a date no one alive was born on, a system's placeholder for an unknown date of birth: "
                     "send the child's date of birth, or leave it empty")

_GENDERS = {
    "male": Gender.MALE, "m": Gender.MALE,
    "female": Gender.FEMALE, "f": Gender.FEMALE,
    "not specified": Gender.NOT_SPECIFIED, "not_specified": Gender.NOT_SPECIFIED, "u": Gender.NOT_SPECIFIED,
    "unknown": Gender.NOT_SPECIFIED,
    # The NHS Data Dictionary's person gender codes, as health systems export them.
    "1": Gender.MALE, "2": Gender.FEMALE, "9": Gender.NOT_SPECIFIED, "0": Gender.NOT_SPECIFIED,
    "x": Gender.NOT_SPECIFIED, "not known": Gender.NOT_SPECIFIED, "indeterminate": Gender.NOT_SPECIFIED,
    "i": Gender.NOT_SPECIFIED,
}
_YES = frozenset({"yes", "y", "true", "1"})
_NO = frozenset({"no", "n", "false", "0"})
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# The other forms a date arrives in from real exports (``_other_date``). ASCII digits only: ``\d`` would take
# other scripts' digits, which ``int`` reads.
_TIME_OF_DAY = re.compile(r"(?:[T ][0-9]{1,2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?(?: ?[AP]M)?"
                          r"(?:Z|[+-][0-9]{2}:?[0-9]{2})?)$", re.IGNORECASE)
_YEAR_FIRST = re.compile(r"(?P<year>[0-9]{4})(?P<sep>[-/.])(?P<month>[0-9]{1,2})(?P=sep)(?P<day>[0-9]{1,2})"
                         r"|(?P<cyear>[0-9]{4})(?P<cmonth>[0-9]{2})(?P<cday>[0-9]{2})")
_DAY_FIRST = re.compile(r"(?P<day>[0-9]{1,2})(?P<sep>[-/.])(?P<month>[0-9]{1,2})(?P=sep)(?P<year>[0-9]{4})")
_NAMED_MONTH = re.compile(r"(?P<day>[0-9]{1,2})(?:st|nd|rd|th)?[- ](?P<month>[A-Za-z]{3,9})\.?,?[- ](?P<year>[0-9]{4})")
_MONTH_NAMED_FIRST = re.compile(r"(?P<month>[A-Za-z]{3,9})\.? (?P<day>[0-9]{1,2})(?:st|nd|rd|th)?,? (?P<year>[0-9]{4})")
_TWO_DIGIT_YEAR = re.compile(r"[0-9]{1,2}([-/.])[0-9]{1,2}\1[0-9]{2}|[0-9]{1,2}[- ][A-Za-z]{3,9}[- ][0-9]{2}")
# Excel counts days from 1899-12-30 (its serial 60 is the 29 February 1900 that never was, so later serials are
# right from this day). 32874 is 1990-01-01 and 73050 is 2099-12-31: a five-digit number in a date column is a
# cell formatted as a number, not anything else a feed writes.
_EXCEL_SERIAL = re.compile(r"[0-9]{5}")
_EXCEL_DAY_0 = date(1899, 12, 30)
_EXCEL_FIRST, _EXCEL_LAST = 32874, 73050
_MONTH_NAMES = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
                "november", "december")
# A month's name in full, its first three letters, or "Sept", in any case.
_MONTHS = ({name: number for number, name in enumerate(_MONTH_NAMES, start=1)}
           | {name[:3]: number for number, name in enumerate(_MONTH_NAMES, start=1)} | {"sept": 9})
_UNREAL = "not a real date (no such day in that month)"
_DAY_FIRST_UNREAL = "not a real date read day first (DD/MM/YYYY, as dates are written in the UK)"
def _carers_name(value: str, field: str) -> str:
    """A parent's or carer's name, and not a placeholder or a relationship written where the name goes ("Mother",
    "Unknown"): matching reads a carer's name in common as one family, and every child with a "Mother" would be
    one."""
    name = _person_name(value, field)
    if _NOT_A_CARERS_NAME.fullmatch(name):
        raise ValidationError(field, "a placeholder or a relationship, not a name (Unknown, Mother): leave it empty "
                                     "if the carer's name is not known")
    return name


# What systems write in a name field for a child not (yet) named, or a name not known (``_childs_name``).
_PLACEHOLDER_NAME = re.compile(
    r"(?:baby|infant|new ?born)(?: (?:boy|girl|male|female))?(?: ?(?:[0-9]|one|two|three|[a-c]))?"
    r"|(?:baby|infant) of .+|(?:twin|triplet)(?: ?(?:[0-9]|one|two|three|[a-c]))?"
    r"|unknown|not known|unnamed|no name|name unknown|n/?k|tbc|tba|xx+|zz+|not stated|not given|none",
    re.IGNORECASE)
# A placeholder, or a relationship written where the carer's name goes (``_carers_name``): one expression, one
# match a carer (each row has two).
_NOT_A_CARERS_NAME = re.compile(
    _PLACEHOLDER_NAME.pattern
    + r"|(?:(?:birth|foster|step|adoptive|the) ?)?(?:mother|father|mum|mom|dad|parents?|carers?|guardian|"
    r"grand(?:mother|father|parent|ma|pa)|nan|aunt|uncle|sister|brother|social worker|local authority|la)",
    re.IGNORECASE)
# Every placeholder for a child's name begins with one of these letters: a name that does not is not matched
# against the expression at all (two names a row, every row of every feed).
_PLACEHOLDER_INITIALS = frozenset("bintuxzBINTUXZ")
_TRAILING_POSTCODE = re.compile(r"(?:^|[\s,])([A-Za-z]{1,2}[0-9][A-Za-z0-9]? ?[0-9][A-Za-z]{2})\s*$")
_LINE_BREAKS = re.compile(r"\s*(?:\r\n|\r|\n)\s*")
_INVOLVEMENT = ("service_name", "practitioner_name", "practitioner_phone", "involvement_start_date",
                "involvement_end_date", "lead_professional", "caf_completed", "sensitive_service")


# --- single values: each returns the normalised value or raises ValidationError(field, reason) -------------


def _plain(text: str, field: str, max_len: int) -> str:
    if has_invisible(text):
        raise ValidationError(field, "contains a control or invisible character")
    if len(text) > max_len:
        raise ValidationError(field, f"longer than {max_len} characters")
    return " ".join(text.split())


def _record_id(value: str, field: str) -> str:
    if has_invisible(value):
        raise ValidationError(field, "contains a control or invisible character")
    if len(value) > MAX_RECORD_ID:
        raise ValidationError(field, f"longer than {MAX_RECORD_ID} characters")
    return value


def _person_name(value: str, field: str) -> str:
    name = _plain(value, field, MAX_NAME)
    if not any(ch.isalpha() for ch in name):
        raise ValidationError(field, "a name needs at least one letter, not only digits or signs")
    return name


def _childs_name(value: str, field: str) -> str:
    """The child's own given or family name: as ``_person_name``, and not a placeholder. A newborn is "Baby" or
    "Baby Boy" in health systems until named, and systems that must fill the field write "Unknown": as names,
    every such child would agree with every other on it."""
    name = _person_name(value, field)
    if name[0] in _PLACEHOLDER_INITIALS and _PLACEHOLDER_NAME.fullmatch(name):
        raise ValidationError(field, "a placeholder, not a name (Baby, Unknown, Twin 1): leave it empty until the "
                                     "child's name is known")
    return name


def _text(max_len: int) -> Callable[[str, str], str]:
    return lambda value, field: _plain(value, field, max_len)


def _address_line(value: str, field: str) -> str:
    """An address line; a line break inside it (a multi-line cell) is read as a comma."""
    return _plain(_LINE_BREAKS.sub(", ", value), field, MAX_TEXT)


def _date(value: str, field: str) -> date:
    """A date as feeds write it. ``YYYY-MM-DD`` is the contract's form and the fast path; the forms real exports
    carry are read too, since a spreadsheet's ``03/07/2014`` would otherwise cost every row its date of birth,
    and so the child its place (held, docs/feeds.md "Dates"). Every other form is refused with its reason."""
    if _ISO_DATE.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise ValidationError(field, _UNREAL) from None
    return _other_date(value, field)


def _real_date(year: int, month: int, day: int, field: str, *, day_first: bool = False) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        raise ValidationError(field, _DAY_FIRST_UNREAL if day_first else _UNREAL) from None


def _other_date(value: str, field: str) -> date:
    """The other forms (``_date``): the time of a timestamp is dropped, then the date is read year first
    (``2014-7-3``, ``2014/07/03``, ``20140703`` as HL7 and the PDS write it), day first as the UK writes it
    (``03/07/2014``, ``3-7-2014``, ``03.07.2014``), or with the month's name (``3 Jul 2014``, ``03-JUL-2014``,
    ``July 3, 2014``). A year is four digits: ``03/07/14`` could be 1914 or 2014, and is refused. A spreadsheet
    cell formatted as a number holds the date as Excel's serial day (``41823``), read for 1990 to 2099."""
    text = _TIME_OF_DAY.sub("", value).strip()
    if m := _YEAR_FIRST.fullmatch(text):
        if m["year"] is None:
            return _real_date(int(m["cyear"]), int(m["cmonth"]), int(m["cday"]), field)
        return _real_date(int(m["year"]), int(m["month"]), int(m["day"]), field)
    if m := _DAY_FIRST.fullmatch(text):
        return _real_date(int(m["year"]), int(m["month"]), int(m["day"]), field, day_first=True)
    if (m := _NAMED_MONTH.fullmatch(text)) or (m := _MONTH_NAMED_FIRST.fullmatch(text)):
        if (month := _MONTHS.get(m["month"].lower())) is not None:
            return _real_date(int(m["year"]), month, int(m["day"]), field)
    if _EXCEL_SERIAL.fullmatch(text) and _EXCEL_FIRST <= (serial := int(text)) <= _EXCEL_LAST:
        return _EXCEL_DAY_0 + timedelta(days=serial)
    if _TWO_DIGIT_YEAR.fullmatch(text):
        raise ValidationError(field, "the year has two digits, which could be either century: write it in full "
                                     "(YYYY-MM-DD)")
    raise ValidationError(field, "dates are written YYYY-MM-DD")


def _gender(value: str, field: str) -> Gender:
    try:
        return _GENDERS[value.lower()]
    except KeyError:
        raise ValidationError(field, "gender is male, female or not specified") from None


def _yes_no(value: str, field: str) -> bool:
    word = value.lower()
    if word in _YES:
        return True
    if word in _NO:
        return False
    raise ValidationError(field, "yes or no")


def _whereabouts(value: str, field: str) -> WhereaboutsState:
    try:
        return WhereaboutsState(value.lower())
    except ValueError:
        raise ValidationError(field, "whereabouts is current, last_known, no_known_address or left_england") \
            from None


# One rule for feeds and a local authority's corrections alike (children.identifiers).
_phone = normalise_phone
_setting_urn = normalise_setting_urn
_gp_practice_code = normalise_gp_practice_code


def _ascii(normalise: Callable[[str, str], str], what: str) -> Callable[[str, str], str]:
    """Identifiers and postcodes are ASCII; anything else is refused before the checksum code sees it."""
    def check(value: str, field: str) -> str:
        if not value.isascii():
            raise ValidationError(field, f"{what} is written in ASCII letters and digits")
        return normalise(value, field)
    return check


@lru_cache(maxsize=1 << 16)
def _postcode_or_reason(value: str) -> tuple[str, str | None]:
    """A household's children share a postcode: remember the last 65,536 answers (the normalised postcode, or the
    reason it was refused); a hit costs a sixtieth of a parse. A national file holds far more distinct postcodes
    than that, so most are parsed anyway: the parse itself is kept cheap (``normalise_postcode``)."""
    try:
        return normalise_postcode(value), None
    except ValidationError as refused:
        return "", refused.reason


def _cached_postcode(value: str, field: str) -> str:
    postcode, reason = _postcode_or_reason(value)
    if reason is not None:
        raise ValidationError(field, reason)
    return postcode


_nhs_number = _ascii(normalise_nhs_number, "an NHS number")
_upn = _ascii(normalise_upn, "a UPN")
_uln = _ascii(normalise_uln, "a ULN")
_postcode = _ascii(_cached_postcode, "a postcode")


def _postcode_written_in(line_1: str, line_2: str, town: str) -> tuple[str, str, str, str]:
    """An address whose postcode a source wrote at the end of its last line ("London NW1 8NP", or the whole
    address in one "12 Agar Grove, London, NW1 8NP") and not in its own column: the postcode taken out of the
    line. Without it matching would know the child at no postcode, and a mistyped one could not be found either.
    A postcode that does not parse stays where it was."""
    lines = [line_1, line_2, town]
    last = max((i for i, line in enumerate(lines) if line), default=None)
    if last is None or not (found := _TRAILING_POSTCODE.search(lines[last])):
        return line_1, line_2, town, ""
    postcode, reason = _postcode_or_reason(found[1])
    if reason is not None:
        return line_1, line_2, town, ""
    lines[last] = lines[last][:found.start()].rstrip(" ,")
    return lines[0], lines[1], lines[2], postcode


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


# --- the row --------------------------------------------------------------------------------------------


# What database and spreadsheet exports write in an empty cell: SQL Server's "Save Results As" writes NULL, other
# tools (null) or <null>, Excel #N/A, Python None; people write N/A, - or ?. Each means "unknown", as an empty
# value does. Taken as a value, NULL would be a middle name, a carer's name and a town that every such record
# shares, and matching would read that as agreement. ("NA", "Nil" and "Nan" are names, and are not among them.)
# Every way of writing each in upper and lower case, so that a row is checked for them all with one set operation
# (a row's 39 values each lowered and looked up cost a national load a minute of CPU).
_EMPTY_MARKERS = frozenset("".join(letters) for marker in ("null", "(null)", "<null>", "[null]", "n/a", "#n/a", "none",
                                                            "-", "--", "?", ".")
                           for letters in itertools.product(*({ch.lower(), ch.upper()} for ch in marker)))


def _clean(value: object) -> str:
    if isinstance(value, str):
        return value.strip()
    return "" if value is None else str(value).strip()


def _said(value: object) -> str:
    """The value trimmed, or "" where it is empty or says it is (``_EMPTY_MARKERS``)."""
    text = _clean(value)
    return "" if text in _EMPTY_MARKERS else text


class _Checker:
    """Checks one row's values, collecting every problem as (field, reason)."""

    def __init__(self, fields: dict[str, str], today: date) -> None:
        values = {column: _clean(fields.get(column)) for column in COLUMNS}
        if not _EMPTY_MARKERS.isdisjoint(values.values()):  # only in a file whose exporter writes them
            values = {column: "" if value in _EMPTY_MARKERS else value for column, value in values.items()}
        self.values = values
        self.today = today
        self.problems: list[tuple[str, str]] = []
        self.not_a_child = False

    def problem(self, field: str, reason: str) -> None:
        self.problems.append((field, reason))

    def check(self, column: str, parse: Callable[[str, str], T]) -> T | None:
        """The parsed value of a filled-in column; ``None`` if it is empty or refused."""
        value = self.values[column]
        if not value:
            return None
        try:
            return parse(value, column)
        except ValidationError as refused:
            self.problem(refused.field, refused.reason)
            return None

    def required(self, column: str, parse: Callable[[str, str], T], what: str) -> T | None:
        if not self.values[column]:
            self.problem(column, f"required: {what}")
            return None
        return self.check(column, parse)

    def filled(self, columns: tuple[str, ...] | list[str]) -> list[str]:
        return [column for column in columns if self.values[column]]

    def event_date(self, column: str, born: date | None, *, future_allowed: bool = False) -> date | None:
        """A date in the child's life: a real date, not before birth, and (unless planned) not in the future."""
        day = self.check(column, _date)
        if day is None:
            return None
        try:
            if not future_allowed:
                check_not_future(day, self.today, column)
        except ValidationError as refused:
            self.problem(refused.field, refused.reason)
            return None
        if born is not None and day < born:
            self.problem(column, "the date is before the child's date of birth")
            return None
        return day

    # -- groups of columns --

    def date_of_birth(self) -> date | None:
        born = self.required("date_of_birth", _date, "the child's date of birth")
        if born is None:
            return None
        if born > self.today:
            self.problem("date_of_birth", "the date is in the future")
            return None
        if born <= _PLACEHOLDER_BIRTHS:
            self.problem("date_of_birth", PLACEHOLDER_BIRTH)
            return None
        if born < _years_before(self.today, MAX_AGE_YEARS):
            self.not_a_child = True
            return None
        return born

    def former_family_names(self) -> tuple[str, ...]:
        names = []
        for part in self.values["former_family_names"].split(";"):
            if part := _said(part):
                try:
                    names.append(_person_name(part, "former_family_names"))
                except ValidationError as refused:
                    self.problem(refused.field, refused.reason)
        return tuple(names)

    def address(self) -> Address | None:
        line_1 = self.check("address_line_1", _address_line) or ""
        line_2 = self.check("address_line_2", _address_line) or ""
        town = self.check("town", _text(MAX_TEXT)) or ""
        postcode = self.check("postcode", _postcode) or ""
        if not self.values["postcode"]:
            line_1, line_2, town, postcode = _postcode_written_in(line_1, line_2, town)
        if not (line_1 or line_2 or town or postcode):
            return None
        return Address(line_1, line_2, town, postcode)

    def carers(self) -> tuple[Carer, ...]:
        carers = []
        for n in (1, 2):
            columns = [f"carer_{n}_{part}" for part in CARER_PARTS]
            name = self.check(columns[0], _carers_name)
            relationship = self.check(columns[1], _text(MAX_RELATIONSHIP))
            responsibility = self.check(columns[2], _yes_no)
            phone = self.check(columns[3], _phone)
            if self.filled(columns) and not self.values[columns[0]]:
                self.problem(columns[0], f"a carer needs a name when any carer_{n} column is filled in")
            if name:
                carers.append(Carer(name, (relationship or "").lower(), responsibility, phone or ""))
        return tuple(carers)

    def education(self, born: date | None) -> EducationSetting | None:
        urn = self.check("setting_urn", _setting_urn)
        name = self.check("setting_name", _text(MAX_ORGANISATION))
        start = self.event_date("setting_start_date", born)
        if self.filled(("setting_name", "setting_start_date")) and not self.values["setting_urn"]:
            self.problem("setting_urn", "required when any setting column is filled in")
        return EducationSetting(urn, name or "", start) if urn else None

    def gp(self, born: date | None) -> GPPractice | None:
        code = self.check("gp_practice_code", _gp_practice_code)
        name = self.check("gp_practice_name", _text(MAX_ORGANISATION))
        start = self.event_date("gp_start_date", born)
        if self.filled(("gp_practice_name", "gp_start_date")) and not self.values["gp_practice_code"]:
            self.problem("gp_practice_code", "required when any GP practice column is filled in")
        return GPPractice(code, name or "", start) if code else None

    def involvement(self, born: date | None) -> Involvement | None:
        service = self.check("service_name", _text(MAX_ORGANISATION))
        practitioner = self.check("practitioner_name", _person_name)
        phone = self.check("practitioner_phone", _phone)
        start = self.event_date("involvement_start_date", born)
        end = self.event_date("involvement_end_date", born, future_allowed=True)  # a planned end
        if start and end and end < start:
            self.problem("involvement_end_date", "the end date is before the start date")
            end = None
        lead = self.check("lead_professional", _yes_no)
        caf = self.check("caf_completed", _yes_no)
        sensitive = self.check("sensitive_service", _yes_no)
        filled = self.filled(_INVOLVEMENT)
        if filled and not self.values["service_name"]:
            self.problem("service_name", "an involvement needs the name of the service (filled in without it: "
                                         f"{', '.join(filled)})")
        if not service:
            return None
        return Involvement(key="", service=service, practitioner_name=practitioner or "",
                           practitioner_phone=phone or "", start_date=start, end_date=end,
                           lead_professional=bool(lead), caf_completed=bool(caf),
                           sensitive=SensitiveCategory.UNSPECIFIED if sensitive else None)

    def row(self, line: int) -> FeedRow:
        """The row as far as it is valid: every value with a problem is left out."""
        record_id = self.required("source_record_id", _record_id, "the source's own identifier for the child")
        given = self.required("given_name", _childs_name, "the child's given name")
        family = self.required("family_name", _childs_name, "the child's family name")
        middle = self.check("middle_names", _person_name)
        former = self.former_family_names()
        gender = self.check("gender", _gender)
        born = self.date_of_birth()
        died = self.event_date("date_of_death", born)
        nhs, upn, uln = (self.check("nhs_number", _nhs_number), self.check("upn", _upn),
                         self.check("uln", _uln))
        address = self.address()
        whereabouts = self.check("whereabouts", _whereabouts)
        if whereabouts is WhereaboutsState.NO_KNOWN_ADDRESS and self.filled(
                ("address_line_1", "address_line_2", "town", "postcode")):
            self.problem("whereabouts", "says there is no known address, yet an address is given (for an old "
                                        "address, send last_known)")
            whereabouts = None
        carers = self.carers()
        education, gp, involvement = self.education(born), self.gp(born), self.involvement(born)
        updated = self.check("updated_at", _date)
        if updated is not None and updated > self.today:
            self.problem("updated_at", "the date is in the future")
            updated = None
        return FeedRow(
            line=line, source_record_id=record_id or "",
            name=PersonName(given=given or "", family=family or "", middle=middle or ""),
            former_family_names=former, gender=gender, date_of_birth=born, date_of_death=died,
            nhs_number=nhs, upn=upn, uln=uln, address=address, whereabouts=whereabouts, carers=carers,
            education=education, gp=gp, involvement=involvement, updated_at=updated,
        )


def _other_names_read(fields: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """The row with each other name for one of our columns ("Date of Birth" beside "DOB", a JSON key "DOB") read
    as that column where the row leaves the column empty, and the extra keys whose values are refused: those
    that are no column of ours, and those another name for a column the row fills with something else. One
    column's alternative left empty on a row must not cost the child a value the row does hold."""
    extra = [key for key, value in fields.items() if key not in KNOWN_COLUMNS and _said(value)]
    if not extra:
        return fields, extra
    read, refused = dict(fields), []
    for key in extra:
        column, value = column_named(str(key)), read[key]
        if column is not None and value != NOT_READ:
            ours = _said(read.get(column))
            if not ours:
                read[column] = value
                continue
            if ours == _said(value):
                continue  # the same value twice: nothing is lost
        refused.append(key)
    return read, refused


def _not_read(key: str) -> str:
    """Why an extra column was not read: a second name for one of ours (a CSV's "DOB" beside "Date of Birth", or
    a JSON key not written as documented), or not a Schedule 1 item at all."""
    column = column_named(key)
    return NOT_SCHEDULE_1 if column is None else (
        f"not read, as another name for {column}, which the row fills with another value: send {column} once, "
        "under that name")


def validate(raw: RawRow, *, today: date) -> tuple[FeedRow | None, list[Problem]]:
    """The accepted row (or ``None``) and every problem with it.

    A row that could not be read (``raw.problem``) gives one ``Refusal`` for the whole row. Otherwise each wrong
    or missing Schedule 1 value gives an ``InvalidValue`` and the row is taken without it, unless the row then
    has nothing to match a child on, is about someone born more than 26 years ago, or has no usable
    ``source_record_id``: then every problem is a ``Refusal`` and the row is not taken. Each filled-in column
    that is not a Schedule 1 item gives a ``FieldRefusal``, on a taken row or not, and its value is discarded.
    Never raises for anything a feed can contain."""
    if raw.problem is not None:
        return None, [Refusal(raw.line, WHOLE_ROW, raw.problem)]
    fields, extra = _other_names_read(raw.fields if isinstance(raw.fields, dict) else {})
    checker = _Checker(fields, today)
    row = checker.row(raw.line)
    field_refusals: list[Problem] = [FieldRefusal(raw.line, str(key), _not_read(str(key))) for key in extra]
    whole_row = [("date_of_birth", TOO_OLD)] if checker.not_a_child else []
    if not (row.nhs_number or row.upn or row.uln or row.name.given or row.name.family):
        whole_row.append((WHOLE_ROW, NOTHING_TO_MATCH))
    if whole_row or any(field == "source_record_id" for field, _ in checker.problems):
        return None, [Refusal(raw.line, field, reason)
                      for field, reason in (*checker.problems, *whole_row)] + field_refusals
    invalid: list[Problem] = [InvalidValue(raw.line, field, reason) for field, reason in checker.problems]
    if raw.read_as is not None:
        invalid.append(InvalidValue(raw.line, ENCODING, read_in(raw.read_as)))
    return row, invalid + field_refusals
