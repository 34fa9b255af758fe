"""DfE Common Transfer File (CTF) feeds from schools: XML, parsed safely and read for Schedule 1 only.

A CTF is made to move a pupil's whole school record between schools, so it carries a great deal of case
information: special educational needs, attendance, assessment results, ethnicity, free school meals,
looked-after status. ContactPoint takes only the basic information below and refuses every other element
that has content, field by field (its key is its XML path under the pupil, e.g. ``Pupil/SENhistory`` or
``Pupil/BasicDetails/Ethnicity``). The refused element's content is never copied into the row.

Parsing is defused (``defusedxml``): a document type declaration is refused outright, so entity expansion
("billion laughs") and external entities cannot happen; either refuses the whole feed. The file is parsed
incrementally and only one pupil is held in memory at a time.

Structure read (CTF specification, section 4.3):

- ``CTfile/Header/SourceSchool``: ``URN`` (else ``LEA`` + ``Estab`` as the 7-digit DfE number) and
  ``SchoolName`` give every pupil's ``setting_urn`` and ``setting_name``. A CTF sent by a local authority
  (``Estab`` ``LLLL``, no URN) gives no setting.
- ``CTfile/CTFpupilData/Pupil``: ``ApplicationReference`` (else ``UPN``) is the ``source_record_id``;
  ``UPN``, ``UniqueLearnerNumber``, ``Surname``, ``Forename``, ``DOB``, ``Sex`` (or ``Gender`` in older
  versions: M, F); ``BasicDetails/MiddleNames`` and ``BasicDetails/FormerSurname`` (also accepted directly
  under ``Pupil``); ``Address`` as ``BS7666Address`` (SAON, PAON, Street, Locality, Town, PostTown) or
  ``AddressLines`` (AddressLine1-5, the last being the town) with ``PostCode``; ``Contacts/Contact`` in
  ``Order``: the first two are the carers (``Forename``/``MiddleNames``/``Surname``, ``Relationship``,
  ``Responsibility`` true/false or 1/0, the first ``Phones/Phone/PhoneNo``); ``SchoolHistory/School`` for the
  source school gives ``EntryDate`` as ``setting_start_date``.

A row's ``line`` is the 1-based position of its ``Pupil`` element in ``CTFpupilData``; ``source_line`` is the
physical line of the Pupil's start tag.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import BinaryIO

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser

from contactpoint.errors import FeedRejected
from contactpoint.feeds.formats.raw import (
    CARER_COLUMNS,
    CARER_PARTS,
    NOT_READ,
    RawRow,
    blank_fields,
    unique_key,
)

DOCUMENT_NAME = "Common Transfer File"
CTF_VERSION = "25.0"  # written in the header; any version is read

# CBDS "relationship to pupil" codes -> the words ContactPoint records. Schools' systems also send words,
# which are taken as they are (lower case).
RELATIONSHIP_CODES: dict[str, str] = {
    "PAR": "parent", "CAR": "carer", "STP": "step-parent", "FOS": "foster carer", "REL": "relative",
    "CHM": "childminder", "SWR": "social worker", "DOC": "doctor", "OTH": "other contact",
}
_CODE_FOR_WORD = {word: code for code, word in RELATIONSHIP_CODES.items()}
_SEX_IN = {"M": "male", "F": "female", "U": "not specified"}
_SEX_OUT = {"male": "M", "female": "F", "not specified": "U"}
_RESPONSIBILITY_IN = {"true": "yes", "1": "yes", "false": "no", "0": "no"}

_PUPIL_TEXT = {"UPN": "upn", "UniqueLearnerNumber": "uln", "Surname": "family_name", "Forename": "given_name",
               "MiddleNames": "middle_names", "DOB": "date_of_birth"}
_CONTACT_READ = frozenset({"Order", "Title", "Forename", "MiddleNames", "Surname", "Relationship",
                           "Responsibility"})
_ADDRESS_IGNORED = frozenset({"County", "Country", "Zip", "AdministrativeArea"})  # parts we do not keep
_CARERS = 2
_MAX_DEPTH = 64  # a real CTF is about 8 deep; deeper is an attempt to exhaust the reader

CARRIED = frozenset({
    "source_record_id", "given_name", "middle_names", "family_name", "former_family_names", "gender",
    "date_of_birth", "upn", "uln", "address_line_1", "address_line_2", "town", "postcode",
    "setting_urn", "setting_name", "setting_start_date",
    *CARER_COLUMNS,
})


def _local(tag: str) -> str:
    """The tag without any namespace: CTFs are not namespaced, but a stray default namespace is harmless."""
    return tag.rsplit("}", 1)[-1]


class _Target:
    """Parser events -> small trees for the Header and for each Pupil, nothing else kept.

    Only elements inside ``CTfile/Header`` and ``CTfile/CTFpupilData/Pupil`` are built; a finished Pupil
    is handed over (with the line of its start tag) and forgotten here, so memory does not grow with the file.
    """

    def __init__(self) -> None:
        self.expat: object | None = None
        self.path: list[str] = []
        self.header: ET.Element | None = None
        self.pupils: list[tuple[ET.Element, int]] = []
        self._builder: ET.TreeBuilder | None = None
        self._depth = 0
        self._line = 0

    def start(self, tag: str, attributes: object) -> None:
        tag = _local(tag)
        if not self.path and tag != "CTfile":
            raise FeedRejected("the file is not a Common Transfer File: its root element must be CTfile")
        self.path.append(tag)
        if len(self.path) > _MAX_DEPTH:
            raise FeedRejected(f"the XML is nested more than {_MAX_DEPTH} elements deep, which no CTF is")
        if self._builder is None and (self.path == ["CTfile", "Header"]
                                      or self.path == ["CTfile", "CTFpupilData", "Pupil"]):
            self._builder, self._depth = ET.TreeBuilder(), len(self.path)
            self._line = getattr(self.expat, "CurrentLineNumber", 0)
        if self._builder is not None:
            self._builder.start(tag, {})  # attributes carry nothing ContactPoint reads

    def end(self, tag: str) -> None:
        if self._builder is not None:
            self._builder.end(_local(tag))
            if len(self.path) == self._depth:
                element = self._builder.close()
                if element.tag == "Header":
                    self.header = element
                else:
                    self.pupils.append((element, self._line))
                self._builder = None
        self.path.pop()

    def data(self, text: str) -> None:
        if self._builder is not None:
            self._builder.data(text)

    def close(self) -> None:
        return None


def _text(element: ET.Element | None) -> str:
    return "".join(element.itertext()).strip() if element is not None else ""


def _has_content(element: ET.Element) -> bool:
    return bool((element.text or "").strip()) or any(_has_content(child) for child in element)


def _refuse(fields: dict[str, str], key: str) -> None:
    fields[unique_key(fields, key)] = NOT_READ


def _setting(header: ET.Element) -> tuple[str, str]:
    """(setting_urn, setting_name) from the source school; none when the sender is not a school."""
    school = header.find("SourceSchool")
    if school is None:
        return "", ""
    urn, lea, estab = _text(school.find("URN")), _text(school.find("LEA")), _text(school.find("Estab"))
    if not urn and lea.isdigit() and estab.isdigit():
        urn = lea + estab  # the DfE number, when an older CTF has no URN
    return (urn, _text(school.find("SchoolName"))) if urn else ("", "")


def _address(address: ET.Element, fields: dict[str, str]) -> None:
    for part in address:
        if part.tag == "BS7666Address":
            _bs7666(part, fields)
        elif part.tag == "AddressLines":
            lines = [_text(part.find(f"AddressLine{n}")) for n in range(1, 6)]
            lines = [line for line in lines if line]
            for extra in part:
                if extra.tag not in {f"AddressLine{n}" for n in range(1, 6)} and _has_content(extra):
                    _refuse(fields, f"Pupil/Address/AddressLines/{extra.tag}")
            if lines:
                fields["address_line_1"] = lines[0]
            if len(lines) > 1:  # UK address lines end with the post town
                fields["address_line_2"] = ", ".join(lines[1:-1])
                fields["town"] = lines[-1]
        elif part.tag == "PostCode":
            fields["postcode"] = _text(part)
        elif part.tag not in _ADDRESS_IGNORED and _has_content(part):
            _refuse(fields, f"Pupil/Address/{part.tag}")


def _bs7666(address: ET.Element, fields: dict[str, str]) -> None:
    def get(tag: str) -> str:
        return _text(address.find(tag))

    street = " ".join(p for p in (get("PAON"), get("Street")) if p)
    if get("SAON"):  # 'Flat 4' / '124 Richards Grove'
        fields["address_line_1"] = get("SAON")
        fields["address_line_2"] = ", ".join(p for p in (street, get("Locality")) if p)
    else:
        fields["address_line_1"] = street
        fields["address_line_2"] = get("Locality")
    fields["town"] = get("Town") or get("PostTown")
    read = {"SAON", "PAON", "Street", "Locality", "Town", "PostTown", "AdministrativeArea"}
    for part in address:
        if part.tag not in read and _has_content(part):
            _refuse(fields, f"Pupil/Address/BS7666Address/{part.tag}")


def _order(contact: ET.Element) -> int:
    order = _text(contact.find("Order"))
    return int(order) if order.isdigit() else 1 << 30


def _contacts(contacts: ET.Element, fields: dict[str, str]) -> None:
    listed = [c for c in contacts if c.tag == "Contact"]
    for other in contacts:
        if other.tag != "Contact" and _has_content(other):
            _refuse(fields, f"Pupil/Contacts/{other.tag}")
    ordered = sorted(enumerate(listed), key=lambda item: (_order(item[1]), item[0]))
    for n, (_, contact) in enumerate(ordered, start=1):
        if n > _CARERS:
            if _has_content(contact):
                _refuse(fields, f"Pupil/Contacts/Contact[{n}]")
        else:
            _contact(contact, n, fields)


def _contact(contact: ET.Element, n: int, fields: dict[str, str]) -> None:
    prefix, path = f"carer_{n}_", f"Pupil/Contacts/Contact[{n}]"
    fields[prefix + "name"] = " ".join(
        p for p in (_text(contact.find("Forename")), _text(contact.find("MiddleNames")),
                    _text(contact.find("Surname"))) if p)
    relationship = _text(contact.find("Relationship"))
    fields[prefix + "relationship"] = RELATIONSHIP_CODES.get(relationship.upper(), relationship.lower())
    responsibility = _text(contact.find("Responsibility"))
    fields[prefix + "parental_responsibility"] = _RESPONSIBILITY_IN.get(responsibility.lower(),
                                                                        responsibility)
    for part in contact:
        if part.tag in _CONTACT_READ:
            continue
        if part.tag == "Phones":
            phones = [phone for phone in part if phone.tag == "Phone" and _text(phone.find("PhoneNo"))]
            if phones:
                fields[prefix + "phone"] = _text(phones[0].find("PhoneNo"))
            for _ in phones[1:]:
                _refuse(fields, f"{path}/Phones/Phone")
        elif part.tag == "Address" and all(p.tag == "AddressAsPupil" for p in part):
            continue  # 'lives with the pupil' says nothing we keep
        elif _has_content(part):
            _refuse(fields, f"{path}/{part.tag}")


def _school_history(history: ET.Element, fields: dict[str, str]) -> None:
    """The source school's entry date is the setting's start date; other schools are history we do not
    keep."""
    urn = fields["setting_urn"]
    for position, school in enumerate(history, start=1):
        lea_estab = _text(school.find("LEA")) + _text(school.find("Estab"))
        if school.tag == "School" and urn and urn in (_text(school.find("URN")), lea_estab):
            fields["setting_start_date"] = _text(school.find("EntryDate"))
            for part in school:
                if part.tag not in ("URN", "LEA", "Estab", "SchoolName", "EntryDate") and _has_content(part):
                    _refuse(fields, f"Pupil/SchoolHistory/School/{part.tag}")
        elif _has_content(school):
            _refuse(fields, f"Pupil/SchoolHistory/{school.tag}[{position}]")


def _pupil(pupil: ET.Element, setting: tuple[str, str]) -> dict[str, str]:
    fields = blank_fields()
    fields["setting_urn"], fields["setting_name"] = setting
    former: list[str] = []
    reference = ""
    for element in pupil:
        tag = element.tag
        if tag in _PUPIL_TEXT and not fields[_PUPIL_TEXT[tag]]:
            fields[_PUPIL_TEXT[tag]] = _text(element)
        elif tag == "ApplicationReference" and not reference:
            reference = _text(element)
        elif tag in ("Sex", "Gender") and not fields["gender"]:
            fields["gender"] = _SEX_IN.get(_text(element).upper(), _text(element))
        elif tag == "FormerSurname":
            former.append(_text(element))
        elif tag == "BasicDetails":
            for detail in element:
                if detail.tag == "MiddleNames" and not fields["middle_names"]:
                    fields["middle_names"] = _text(detail)
                elif detail.tag == "FormerSurname":
                    former.append(_text(detail))
                elif _has_content(detail):
                    _refuse(fields, f"Pupil/BasicDetails/{detail.tag}")
        elif tag == "Address":
            _address(element, fields)
        elif tag == "Contacts":
            _contacts(element, fields)
        elif tag == "SchoolHistory":
            _school_history(element, fields)
        elif _has_content(element):
            _refuse(fields, f"Pupil/{tag}")
    fields["former_family_names"] = ";".join(name for name in former if name)
    fields["source_record_id"] = reference or fields["upn"]
    return fields


def read(stream: BinaryIO) -> Iterator[RawRow]:
    """Raw rows of a CTF, one per Pupil, numbered by the Pupil's position (its start tag's line in
    ``source_line``)."""
    target = _Target()
    parser = DefusedXMLParser(target=target, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    target.expat = parser.parser
    setting: tuple[str, str] | None = None
    pupils = 0
    anything = False

    def finished() -> Iterator[RawRow]:
        nonlocal setting, pupils
        while target.pupils:
            pupil, line = target.pupils.pop(0)
            if target.header is None:
                raise FeedRejected("the CTF has no Header before its pupils")
            if setting is None:
                setting = _setting(target.header)
            pupils += 1
            yield RawRow(pupils, _pupil(pupil, setting), source_line=line)

    try:
        while chunk := stream.read(1 << 16):
            anything = anything or bool(chunk.strip())
            parser.feed(chunk)
            yield from finished()
        if not anything:
            raise FeedRejected("the file is empty: a CTF feed is one CTfile document")
        parser.close()
        yield from finished()
    except DefusedXmlException:
        raise FeedRejected("the XML has a document type declaration (DTD) or entities, which ContactPoint "
                           "never reads: they can expand without limit or reach outside the file") from None
    except ET.ParseError as error:
        raise FeedRejected(f"the file is not well-formed XML (line {error.position[0]})") from None
    if target.header is None:
        raise FeedRejected("the CTF has no Header")


# --- writing ---------------------------------------------------------------------------------------------


def _add(parent: ET.Element, tag: str, text: str = "") -> ET.Element:
    element = ET.SubElement(parent, tag)
    if text:
        element.text = text
    return element


def _add_filled(parent: ET.Element, pairs: Iterable[tuple[str, str]]) -> None:
    for tag, text in pairs:
        if text:
            _add(parent, tag, text)


def _yes_no(value: str) -> str:
    word = value.strip().lower()
    if word in ("yes", "y", "true", "1"):
        return "true"
    if word in ("no", "n", "false", "0"):
        return "false"
    if word:
        raise ValueError("parental responsibility is yes or no")
    return ""


def _value(row: dict[str, str], column: str) -> str:
    return (row.get(column) or "").strip()


def _pupil_element(data: ET.Element, row: dict[str, str]) -> None:
    def get(column: str) -> str:
        return _value(row, column)

    pupil = _add(data, "Pupil")
    _add_filled(pupil, (("ApplicationReference", get("source_record_id")), ("UPN", get("upn")),
                        ("UniqueLearnerNumber", get("uln")), ("Surname", get("family_name")),
                        ("Forename", get("given_name")), ("DOB", get("date_of_birth")),
                        ("Sex", _SEX_OUT.get(get("gender"), get("gender")))))
    former = [name.strip() for name in get("former_family_names").split(";") if name.strip()]
    if get("middle_names") or former:
        details = _add(pupil, "BasicDetails")
        _add_filled(details, [("MiddleNames", get("middle_names")), *(("FormerSurname", f) for f in former)])
    lines = [line for line in (get("address_line_1"), get("address_line_2"), get("town")) if line]
    if lines or get("postcode"):
        address = _add(pupil, "Address")
        if lines:
            numbered = ((f"AddressLine{n}", line) for n, line in enumerate(lines, start=1))
            _add_filled(_add(address, "AddressLines"), numbered)
        _add_filled(address, (("PostCode", get("postcode")),))
    carers = [n for n in (1, 2) if any(get(f"carer_{n}_{part}") for part in CARER_PARTS)]
    if carers:
        contacts = _add(pupil, "Contacts")
        for order, n in enumerate(carers, start=1):
            contact = _add(contacts, "Contact")
            forename, _, surname = get(f"carer_{n}_name").partition(" ")
            relationship = get(f"carer_{n}_relationship").lower()
            _add_filled(contact, (("Order", str(order)), ("Forename", forename if surname else ""),
                                  ("Surname", surname or forename),
                                  ("Relationship", _CODE_FOR_WORD.get(relationship, relationship)),
                                  ("Responsibility", _yes_no(get(f"carer_{n}_parental_responsibility")))))
            if get(f"carer_{n}_phone"):
                phone = _add(_add(contact, "Phones"), "Phone")
                _add_filled(phone, (("TelephoneType", "H"), ("PhoneNo", get(f"carer_{n}_phone"))))
    if get("setting_start_date") and get("setting_urn"):
        school = _add(_add(pupil, "SchoolHistory"), "School")
        _add_filled(school, (("URN", get("setting_urn")), ("SchoolName", get("setting_name")),
                             ("EntryDate", get("setting_start_date"))))


def write(rows: Iterable[dict[str, str]], stream: BinaryIO, *, made_at: datetime | None = None) -> None:
    """One CTF from one school: every row must have the same ``setting_urn`` and ``setting_name`` (the
    header's source school). Raises ``ValueError`` for rows from several schools, or with a filled-in column
    a CTF does not carry (see ``CARRIED``)."""
    rows = list(rows)
    schools = {(_value(row, "setting_urn"), _value(row, "setting_name")) for row in rows}
    if len(schools) > 1:
        raise ValueError("a CTF comes from one school: the rows name several settings")
    for number, row in enumerate(rows, start=1):
        uncarried = sorted(key for key, value in row.items() if value and key not in CARRIED)
        if uncarried:
            raise ValueError(f"row {number}: a CTF does not carry {', '.join(uncarried)}")
    urn, name = schools.pop() if schools else ("", "")
    root = ET.Element("CTfile")
    header = _add(root, "Header")
    _add_filled(header, (("DocumentName", DOCUMENT_NAME), ("CTFversion", CTF_VERSION),
                         ("DateTime", (made_at or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%S")),
                         ("DocumentQualifier", "partial"), ("SupplierID", "ContactPoint")))
    source = _add(header, "SourceSchool")
    if len(urn) == 7:  # a DfE number: LA code and establishment number
        _add_filled(source, (("LEA", urn[:3]), ("Estab", urn[3:])))
    else:
        _add_filled(source, (("URN", urn),))
    _add_filled(source, (("SchoolName", name),))
    data = _add(root, "CTFpupilData")
    for row in rows:
        _pupil_element(data, row)
    ET.indent(root)
    ET.ElementTree(root).write(stream, encoding="UTF-8", xml_declaration=True)
