"""FHIR R4 feeds: a ``Bundle`` (JSON) of ``Patient`` resources, each with up to two ``RelatedPerson``.

Read with the ``json`` module and checked here, element by element: the mapping below is the whole of what
ContactPoint takes from a Patient, and any other element that carries a value becomes an extra key
(``Patient.maritalStatus``, ``Patient.extension(<url>)``, ``RelatedPerson.address``...) so that it is
refused field by field. ``fhir.resources`` is used only in tests, to prove the writer's output is valid R4B.

A row's ``line`` is the 1-based position of its Patient entry in ``Bundle.entry`` (``entry[line - 1]``).
Entries that are not rows (a RelatedPerson whose patient is not in the Bundle, a resource of another type)
are reported at their own position; ``Organization`` entries are read only when a Patient's
``generalPractitioner`` points at them.

Mapping (docs/feeds.md has the full table):

- ``identifier``: NHS number (``https://fhir.nhs.uk/Id/nhs-number``), UPN and ULN (``UPN_SYSTEM``,
  ``ULN_SYSTEM``); the source's own record number is the identifier with ``SOURCE_RECORD_SYSTEM``, else the
  first identifier of any other system.
- ``name``: the first ``official`` or ``usual`` name (else the first without a ``use``) gives the given name
  (first ``given``), middle names (other ``given``) and family name; ``old`` and ``maiden`` names give former
  family names.
- ``gender``: male, female; other and unknown are "not specified". ``birthDate``; ``deceasedDateTime``.
- ``address``: the first current home address (``old`` ones and those with an ended ``period`` are skipped):
  ``line[0]``, ``line[1]`` (further lines joined to it), ``city``, ``postalCode``.
- ``generalPractitioner``: an Organization reference with an ODS code identifier and ``display`` (or a
  reference to an Organization entry); the date of registration in the extension ``GP_START_EXTENSION``.
- ``extension`` ``WHEREABOUTS_EXTENSION`` (``valueCode``); ``meta.lastUpdated`` gives ``updated_at``.
- ``RelatedPerson`` (``patient`` refers to the Patient's ``fullUrl`` or ``Patient/<id>``), in Bundle order:
  carer 1 and carer 2: ``name``, ``relationship`` (HL7 v3 RoleCode, or text), parental responsibility in the
  extension ``PARENTAL_RESPONSIBILITY_EXTENSION`` (``valueBoolean``), the first phone in ``telecom``.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable, Iterator
from typing import Any, BinaryIO

from contactpoint.errors import FeedRejected
from contactpoint.feeds.formats.raw import (
    CARER_COLUMNS,
    CARER_PARTS,
    NOT_READ,
    RawRow,
    blank_fields,
    unique_key,
)

NHS_NUMBER_SYSTEM = "https://fhir.nhs.uk/Id/nhs-number"
ODS_SYSTEM = "https://fhir.nhs.uk/Id/ods-organization-code"
UPN_SYSTEM = "https://contactpoint.example/Id/upn"
ULN_SYSTEM = "https://contactpoint.example/Id/uln"
SOURCE_RECORD_SYSTEM = "https://contactpoint.example/Id/source-record"
PARENTAL_RESPONSIBILITY_EXTENSION = "https://contactpoint.example/StructureDefinition/parental-responsibility"
WHEREABOUTS_EXTENSION = "https://contactpoint.example/StructureDefinition/whereabouts"
GP_START_EXTENSION = "https://contactpoint.example/StructureDefinition/gp-registration-start"
ROLE_CODE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"

# HL7 v3 RoleCode -> the word ContactPoint records. Relationships without a code travel as text.
RELATIONSHIP_CODES: dict[str, str] = {
    "MTH": "mother", "NMTH": "mother", "FTH": "father", "NFTH": "father", "PRN": "parent",
    "STPMTH": "stepmother", "STPFTH": "stepfather", "STPPRN": "step-parent",
    "GRMTH": "grandmother", "GRFTH": "grandfather", "GRPRN": "grandparent",
    "AUNT": "aunt", "UNCLE": "uncle", "SIS": "sister", "BRO": "brother", "SIB": "sibling",
    "GUARD": "guardian",
}
_CODE_FOR_WORD = {word: code for code, word in reversed(RELATIONSHIP_CODES.items())}

_GENDERS_IN = {"male": "male", "female": "female", "other": "not specified", "unknown": "not specified"}
_GENDERS_OUT = {"male": "male", "female": "female", "not specified": "unknown"}
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")

# Elements that are read (or are structural and carry no information about the child).
_STRUCTURAL = ("resourceType", "id", "meta", "active")
_PATIENT_READ = frozenset({*_STRUCTURAL, "identifier", "name", "gender", "birthDate", "deceasedDateTime",
                           "deceasedBoolean", "address", "generalPractitioner", "extension"})
_RELATED_READ = frozenset({*_STRUCTURAL, "patient", "name", "relationship", "telecom", "extension"})
_CARERS = 2

# The columns a FHIR feed can carry (the writer refuses to drop any other filled-in column silently).
CARRIED = frozenset({
    "source_record_id", "given_name", "middle_names", "family_name", "former_family_names", "gender",
    "date_of_birth", "date_of_death", "nhs_number", "upn", "uln", "address_line_1", "address_line_2", "town",
    "postcode", "whereabouts", "gp_practice_code", "gp_practice_name", "gp_start_date", "updated_at",
    *CARER_COLUMNS,
})


def _has_value(value: Any) -> bool:
    """Whether an element carries anything (FHIR has no empty elements, but senders do). Iterative, so a
    deeply nested element cannot exhaust the stack."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
        elif item is not None and item != "":
            return True
    return False


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _refuse(fields: dict[str, str], key: str) -> None:
    fields[unique_key(fields, key)] = NOT_READ


def _date_part(value: Any) -> str:
    """The date of a FHIR date or dateTime; a partial date ('2015') is passed on for validation to refuse."""
    text = _str(value)
    return text[:10] if _DATE.match(text) else text


# --- reading ---------------------------------------------------------------------------------------------


def _identifiers(patient: dict[str, Any], fields: dict[str, str]) -> None:
    identifiers = [_dict(i) for i in _list(patient.get("identifier"))]
    known = {NHS_NUMBER_SYSTEM: "nhs_number", UPN_SYSTEM: "upn", ULN_SYSTEM: "uln",
             SOURCE_RECORD_SYSTEM: "source_record_id"}
    explicit_source = any(_str(i.get("system")) == SOURCE_RECORD_SYSTEM for i in identifiers)
    for identifier in identifiers:
        system, value = _str(identifier.get("system")), _str(identifier.get("value"))
        column = known.get(system)
        if column is None and not explicit_source and not fields["source_record_id"]:
            column = "source_record_id"  # no explicit source identifier: the first other one is the source's
        if column is not None and not fields[column]:
            fields[column] = value
        elif _has_value(identifier):
            _refuse(fields, f"Patient.identifier({system or 'no system'})")


def _names(patient: dict[str, Any], fields: dict[str, str]) -> None:
    names = [_dict(n) for n in _list(patient.get("name"))]
    current = next((n for n in names if n.get("use") in ("official", "usual")), None) \
        or next((n for n in names if "use" not in n), None)
    former: list[str] = []
    for name in names:
        if name is current:
            given = [g for g in _list(name.get("given")) if isinstance(g, str)]
            fields["given_name"] = given[0] if given else ""
            fields["middle_names"] = " ".join(given[1:])
            fields["family_name"] = _str(name.get("family"))
        elif name.get("use") in ("old", "maiden"):
            if family := _str(name.get("family")):
                former.append(family)
        elif _has_value(name):
            _refuse(fields, f"Patient.name({_str(name.get('use')) or 'no use'})")
    fields["former_family_names"] = ";".join(former)


def _address(patient: dict[str, Any], fields: dict[str, str]) -> None:
    current = [a for a in map(_dict, _list(patient.get("address")))
               if a.get("use") != "old" and not _dict(a.get("period")).get("end")]
    if not current:
        return
    address = next((a for a in current if a.get("use") == "home"), current[0])
    lines = [line for line in _list(address.get("line")) if isinstance(line, str) and line]
    fields["address_line_1"] = lines[0] if lines else ""
    fields["address_line_2"] = ", ".join(lines[1:])
    fields["town"] = _str(address.get("city"))
    fields["postcode"] = _str(address.get("postalCode"))


def _general_practitioner(patient: dict[str, Any], fields: dict[str, str],
                          organisations: dict[str, dict[str, Any]]) -> None:
    for reference in map(_dict, _list(patient.get("generalPractitioner"))):
        target = organisations.get(_str(reference.get("reference")))
        is_practice = reference.get("type") == "Organization" or target is not None \
            or _str(reference.get("reference")).startswith("Organization/")
        if not is_practice or fields["gp_practice_code"]:
            if _has_value(reference):
                _refuse(fields, f"Patient.generalPractitioner({_str(reference.get('type')) or 'reference'})")
            continue
        identifiers = [_dict(reference.get("identifier"))]
        if target is not None:
            identifiers += [_dict(i) for i in _list(target.get("identifier"))]
        fields["gp_practice_code"] = next(
            (_str(i.get("value")) for i in identifiers if i.get("system") == ODS_SYSTEM), "")
        fields["gp_practice_name"] = _str(reference.get("display")) or _str(_dict(target).get("name"))
        for extension in map(_dict, _list(reference.get("extension"))):
            if extension.get("url") == GP_START_EXTENSION:
                fields["gp_start_date"] = _str(extension.get("valueDate"))
            elif _has_value(extension):
                _refuse(fields, f"Patient.generalPractitioner.extension({_str(extension.get('url'))})")


def _patient_extensions(patient: dict[str, Any], fields: dict[str, str]) -> None:
    for extension in map(_dict, _list(patient.get("extension"))):
        url = _str(extension.get("url"))
        if url == WHEREABOUTS_EXTENSION and not fields["whereabouts"]:
            fields["whereabouts"] = _str(extension.get("valueCode"))
        elif _has_value(extension):
            _refuse(fields, f"Patient.extension({url or 'no url'})")


def _patient(patient: dict[str, Any], organisations: dict[str, dict[str, Any]]) -> dict[str, str]:
    fields = blank_fields()
    _identifiers(patient, fields)
    _names(patient, fields)
    gender = _str(patient.get("gender"))
    fields["gender"] = _GENDERS_IN.get(gender, gender)
    fields["date_of_birth"] = _str(patient.get("birthDate"))
    fields["date_of_death"] = _date_part(patient.get("deceasedDateTime"))
    if patient.get("deceasedBoolean") is True and not fields["date_of_death"]:
        _refuse(fields, "Patient.deceasedBoolean")  # a death is taken with its date (deceasedDateTime)
    _address(patient, fields)
    _general_practitioner(patient, fields, organisations)
    _patient_extensions(patient, fields)
    fields["updated_at"] = _date_part(_dict(patient.get("meta")).get("lastUpdated"))
    for element, value in patient.items():
        if element not in _PATIENT_READ and _has_value(value):
            _refuse(fields, f"Patient.{element}")
    return fields


def _relationship(person: dict[str, Any]) -> str:
    for concept in map(_dict, _list(person.get("relationship"))):
        for coding in map(_dict, _list(concept.get("coding"))):
            if (word := RELATIONSHIP_CODES.get(_str(coding.get("code")))) is not None:
                return word
        displays = [_str(c.get("display")) for c in map(_dict, _list(concept.get("coding")))]
        text = _str(concept.get("text")) or next((d for d in displays if d), "")
        if text:
            return text.lower()
    return ""


def _carer(person: dict[str, Any], n: int, fields: dict[str, str]) -> None:
    """RelatedPerson -> carer_<n>_* columns, or all of it refused when the row already has two carers."""
    if n > _CARERS:
        _refuse(fields, f"RelatedPerson[{n}]")
        return
    name = _dict(next(iter(_list(person.get("name"))), {}))
    fields[f"carer_{n}_name"] = _str(name.get("text")) or " ".join(
        [*(g for g in _list(name.get("given")) if isinstance(g, str)), _str(name.get("family"))]).strip()
    fields[f"carer_{n}_relationship"] = _relationship(person)
    for extension in map(_dict, _list(person.get("extension"))):
        url = _str(extension.get("url"))
        if url == PARENTAL_RESPONSIBILITY_EXTENSION and isinstance(extension.get("valueBoolean"), bool):
            fields[f"carer_{n}_parental_responsibility"] = "yes" if extension["valueBoolean"] else "no"
        elif _has_value(extension):
            _refuse(fields, f"RelatedPerson.extension({url or 'no url'})")
    for telecom in map(_dict, _list(person.get("telecom"))):
        if telecom.get("system") == "phone" and not fields[f"carer_{n}_phone"]:
            fields[f"carer_{n}_phone"] = _str(telecom.get("value"))
        elif _has_value(telecom):
            _refuse(fields, f"RelatedPerson.telecom({_str(telecom.get('system')) or 'no system'})")
    for element, value in person.items():
        if element not in _RELATED_READ and _has_value(value):
            _refuse(fields, f"RelatedPerson.{element}")


def _load(stream: BinaryIO) -> list[Any]:
    data = stream.read()
    if not data.strip():
        raise FeedRejected("the file is empty: a FHIR feed is one Bundle")
    try:
        bundle = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise FeedRejected("the file is not UTF-8 text") from None
    except (ValueError, RecursionError):
        raise FeedRejected("the file is not JSON") from None
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        raise FeedRejected("the file is not a FHIR Bundle (resourceType must be Bundle)")
    entries = bundle.get("entry", [])
    if not isinstance(entries, list):
        raise FeedRejected("Bundle.entry must be a list of entries")
    return entries


def _addresses(entry: dict[str, Any], resource: dict[str, Any]) -> list[str]:
    """The ways a reference can name this entry: its fullUrl and ``<type>/<id>``."""
    names = [_str(entry.get("fullUrl"))]
    if resource.get("id"):
        names.append(f"{resource.get('resourceType')}/{resource['id']}")
    return [n for n in names if n]


def read(stream: BinaryIO) -> Iterator[RawRow]:
    """Raw rows of a FHIR Bundle, one per Patient, numbered by entry position (1-based)."""
    entries = _load(stream)
    resources: list[dict[str, Any] | None] = []
    patients: dict[str, int] = {}
    organisations: dict[str, dict[str, Any]] = {}
    for position, entry in enumerate(entries, start=1):
        resource = _dict(_dict(entry).get("resource")) or None
        resources.append(resource)
        if resource is None:
            continue
        for name in _addresses(_dict(entry), resource):
            if resource.get("resourceType") == "Patient":
                patients[name] = position
            elif resource.get("resourceType") == "Organization":
                organisations[name] = resource
    carers: dict[int, list[dict[str, Any]]] = {}
    problems: dict[int, str] = {}
    for position, resource in enumerate(resources, start=1):
        kind = resource.get("resourceType") if resource else None
        if resource is None:
            problems[position] = "the entry has no resource"
        elif kind == "RelatedPerson":
            patient = patients.get(_str(_dict(resource.get("patient")).get("reference")))
            if patient is None:
                problems[position] = "the RelatedPerson's patient is not a Patient entry of this Bundle"
            else:
                carers.setdefault(patient, []).append(resource)
        elif kind not in ("Patient", "Organization"):
            name = kind if isinstance(kind, str) else "resource"
            problems[position] = (f"a {name} entry is not taken: a feed Bundle holds Patient and RelatedPerson "
                                  "resources only (basic information, never case information)")
    for position, resource in enumerate(resources, start=1):
        if position in problems:
            yield RawRow(position, problem=problems[position])
        elif resource is not None and resource.get("resourceType") == "Patient":
            fields = _patient(resource, organisations)
            for n, person in enumerate(carers.get(position, []), start=1):
                _carer(person, n, fields)
            yield RawRow(position, fields)


# --- writing ---------------------------------------------------------------------------------------------


def _yes_no(value: str) -> bool | None:
    word = value.strip().lower()
    if word in ("yes", "y", "true", "1"):
        return True
    if word in ("no", "n", "false", "0"):
        return False
    if not word:
        return None
    raise ValueError("parental responsibility is yes or no")


def _patient_resource(row: dict[str, str]) -> dict[str, Any]:
    def get(column: str) -> str:
        return (row.get(column) or "").strip()

    patient: dict[str, Any] = {"resourceType": "Patient"}
    if get("updated_at"):
        patient["meta"] = {"lastUpdated": f"{get('updated_at')}T00:00:00Z"}
    identifiers = [(SOURCE_RECORD_SYSTEM, get("source_record_id")), (NHS_NUMBER_SYSTEM, get("nhs_number")),
                   (UPN_SYSTEM, get("upn")), (ULN_SYSTEM, get("uln"))]
    patient["identifier"] = [{"system": system, "value": value} for system, value in identifiers if value]
    name: dict[str, Any] = {"use": "official"}
    if get("family_name"):
        name["family"] = get("family_name")
    given = [g for g in (get("given_name"), *get("middle_names").split()) if g]
    if given:
        name["given"] = given
    names = [name] + [{"use": "old", "family": former.strip()}
                      for former in get("former_family_names").split(";") if former.strip()]
    patient["name"] = names
    if get("gender"):
        patient["gender"] = _GENDERS_OUT.get(get("gender"), get("gender"))
    if get("date_of_birth"):
        patient["birthDate"] = get("date_of_birth")
    if get("date_of_death"):
        patient["deceasedDateTime"] = get("date_of_death")
    address = {key: value for key, value in (
        ("use", "home"), ("line", [line for line in (get("address_line_1"), get("address_line_2")) if line]),
        ("city", get("town")), ("postalCode", get("postcode"))) if value}
    if len(address) > 1:
        patient["address"] = [address]
    if get("gp_practice_code") or get("gp_practice_name"):
        practice: dict[str, Any] = {"type": "Organization"}
        if get("gp_practice_code"):
            practice["identifier"] = {"system": ODS_SYSTEM, "value": get("gp_practice_code")}
        if get("gp_practice_name"):
            practice["display"] = get("gp_practice_name")
        if get("gp_start_date"):
            practice["extension"] = [{"url": GP_START_EXTENSION, "valueDate": get("gp_start_date")}]
        patient["generalPractitioner"] = [practice]
    if get("whereabouts"):
        patient["extension"] = [{"url": WHEREABOUTS_EXTENSION, "valueCode": get("whereabouts")}]
    return patient


def _related_person(row: dict[str, str], n: int, patient_url: str) -> dict[str, Any] | None:
    def get(part: str) -> str:
        return (row.get(f"carer_{n}_{part}") or "").strip()

    if not any(get(part) for part in CARER_PARTS):
        return None
    person: dict[str, Any] = {"resourceType": "RelatedPerson", "patient": {"reference": patient_url}}
    responsibility = _yes_no(get("parental_responsibility"))
    if responsibility is not None:
        person["extension"] = [{"url": PARENTAL_RESPONSIBILITY_EXTENSION, "valueBoolean": responsibility}]
    if get("relationship"):
        word = get("relationship").lower()
        concept: dict[str, Any] = {"text": word}
        if word in _CODE_FOR_WORD:
            concept["coding"] = [{"system": ROLE_CODE_SYSTEM, "code": _CODE_FOR_WORD[word], "display": word}]
        person["relationship"] = [concept]
    if get("name"):
        person["name"] = [{"text": get("name")}]
    if get("phone"):
        person["telecom"] = [{"system": "phone", "value": get("phone")}]
    return person


def _entry_url(name: str) -> str:
    """A stable ``urn:uuid`` for an entry, so the same rows always make the same Bundle."""
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, 'contactpoint-feed:' + name)}"


def write(rows: Iterable[dict[str, str]], stream: BinaryIO) -> None:
    """A ``collection`` Bundle: each row's Patient, followed by its carers as RelatedPerson entries.

    Raises ``ValueError`` for a row with a filled-in column FHIR does not carry here (see ``CARRIED``):
    dropping it silently would make a converted feed say less than its source."""
    entries: list[dict[str, Any]] = []
    for number, row in enumerate(rows, start=1):
        uncarried = sorted(key for key, value in row.items() if value and key not in CARRIED)
        if uncarried:
            raise ValueError(f"row {number}: a FHIR feed does not carry {', '.join(uncarried)}")
        url = _entry_url(f"{number}:{row.get('source_record_id')}")
        entries.append({"fullUrl": url, "resource": _patient_resource(row)})
        for n in range(1, _CARERS + 1):
            person = _related_person(row, n, url)
            if person is not None:
                entries.append({"fullUrl": _entry_url(f"{url}:carer:{n}"), "resource": person})
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": entries}
    stream.write(json.dumps(bundle, ensure_ascii=False, indent=1).encode("utf-8"))
