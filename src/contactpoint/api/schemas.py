"""The shapes of requests and responses, as published in the OpenAPI document (``/api/v1/openapi.json``).

Optional parts of a record are left out of a response rather than sent empty: a shielded child's record has
only its visible fields (DESIGN.md "Shielding")."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from ninja import Field, Schema

from contactpoint.bestview.discrepancies import REASON_MAX


class Problem(Schema):
    code: str = Field(description="stable: branch on this (see docs/api.md, Errors)")
    detail: str = Field(description="what went wrong and what to do, for a person")
    field: str | None = None
    precondition: str | None = None
    action: str | None = None


class SessionRequest(Schema):
    username: str = Field(max_length=150)
    password: str = Field(max_length=256)
    pin: str = Field(max_length=8)
    otp: str = Field(max_length=10, description="the 6 digits the practitioner's security token shows now")


class SessionOpened(Schema):
    token: str = Field(description="send as 'Authorization: Bearer <token>'")
    token_type: str = "bearer"
    idle_minutes: int
    expires_at: str = Field(description="the latest the session can last (UTC); idle time ends it sooner")


class Provenance(Schema):
    source: str = Field(description="the source system, or 'withheld' on a shielded record")
    feed: str
    received: date


class Hit(Schema):
    contactpoint_id: str
    given: str
    middle: str
    family: str
    birthdate: date
    gender: str
    shielded: bool
    town: str | None = Field(None, description="left out for a shielded child")
    postcode: str | None = Field(None, description="left out for a shielded child")
    score: float = Field(description="match probability, 0 to 1")


class SearchResults(Schema):
    results: list[Hit]


class Name(Schema):
    given: str
    middle: str
    family: str
    provenance: Provenance


class Valued(Schema):
    value: str
    provenance: Provenance


class Address(Schema):
    line_1: str
    line_2: str
    town: str
    postcode: str


class Whereabouts(Schema):
    state: str = Field(description="current, last_known, no_known_address or left_england")
    address: Address | None = None
    intends_to_return: bool | None = None
    left_on: date | None = None
    provenance: Provenance


class Carer(Schema):
    name: str
    relationship: str
    parental_responsibility: bool | None = None
    phone: str | None = Field(None, description="left out on a shielded record")
    email: str | None = Field(None, description="left out on a shielded record")
    provenance: Provenance


class Setting(Schema):
    code: str = Field(description="URN of the educational setting, or ODS code of the GP practice")
    name: str
    start_date: date | None = None
    provenance: Provenance


class Involvement(Schema):
    service: str
    organisation: str
    practitioner_name: str
    practitioner_phone: str
    practitioner_email: str
    start_date: date | None = None
    end_date: date | None = None
    active: bool
    lead_professional: bool
    caf_completed: bool = Field(description="a Common Assessment exists and this practitioner holds it")
    provenance: Provenance


class SourceIdentifier(Schema):
    source: str
    identifier: str


class Record(Schema):
    contactpoint_id: str
    shielded: bool
    notice: str | None = Field(None, description="on a shielded record: what is withheld and why")
    responsible_local_authority: str
    last_updated: date
    name: Name
    former_names: list[Name]
    gender: Valued
    date_of_birth: Valued
    date_of_death: Valued | None = None
    parents_and_carers: list[Carer]
    nhs_number: Valued | None = None
    upn: Valued | None = None
    uln: Valued | None = None
    whereabouts: Whereabouts | None = None
    education: Setting | None = None
    gp_practice: Setting | None = None
    services_involved: list[Involvement] | None = None
    sensitive_service_notice: str | None = Field(
        None, description="a sensitive service is involved: contact the local authority ContactPoint team")
    own_source_identifiers: list[SourceIdentifier] | None = Field(
        None, description="the identifiers your organisation's own systems gave the child")


class RowProblem(Schema):
    line: int = Field(description="line (CSV, JSON Lines) or entry position (FHIR, CTF) in the file sent")
    field: str
    reason: str
    kind: str = Field(description="'row': the row was not taken; "
                                  "'field': the row was taken without this field")


class FeedRun(Schema):
    run: str
    status: str
    repeat: bool = Field(description="true when this exact file was taken before: nothing changed")
    format: str
    mode: str
    rows: int
    accepted: int
    unchanged: int
    refused: int
    fields_refused: int
    held: int
    children_created: int
    records_linked: int
    reviews_queued: int
    children_merged: int
    problems: list[RowProblem]
    problems_total: int


class FeedJob(Schema):
    job: str = Field(description="the job's ID: poll GET /api/v1/feeds/{source}/jobs/{job}")
    status: Literal["queued", "running", "completed", "failed"]
    received_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    message: str = Field("", description="why the file was refused, or the run stopped (never a value)")
    poll: str = Field(description="where to ask how the job is going")
    result: FeedRun | None = Field(None, description="the run's summary, once the job has completed")


ItemKind = Literal["disagreement", "invalid"]
ItemState = Literal["open", "acknowledged", "disputed"]


class DiscrepancyItem(Schema):
    id: int = Field(description="the item's ID: acknowledge or dispute it with this")
    source_record_id: str = Field(description="your own ID for the record")
    field: str
    kind: ItemKind = Field(
        description="disagreement: other sources hold another value; invalid: the value was wrong or "
                    "missing, and your record was taken without it")
    message: str
    opened: date
    state: ItemState = Field(
        description="your answer: open (none yet), acknowledged or disputed; the item stays open until "
                    "the data agrees or the value is corrected")
    answered: date | None = Field(None, description="when you answered it (left out if you have not)")


class Discrepancies(Schema):
    source: str
    total: int = Field(description="open items matching the filters, on every page")
    page: int
    per_page: int
    items: list[DiscrepancyItem]


class DisputeRequest(Schema):
    reason: str = Field(min_length=1, max_length=REASON_MAX,
                        description="why your value is right, in a sentence; no names or other personal "
                                    "details")


class AmendmentRequest(Schema):
    """A local authority's correction or completion of one value (docs/lifecycle.md)."""

    field: str = Field(description="name, date_of_birth, gender, address, nhs_number, upn, uln, carers, education "
                                   "or gp")
    values: dict[str, str] = Field(description="the new value's parts: given_name, middle_names, family_name; "
                                               "date_of_birth (YYYY-MM-DD); gender (male, female, not specified); "
                                               "address_line_1, address_line_2, town, postcode; nhs_number; upn; "
                                               "uln; carer_1_name, carer_1_relationship, "
                                               "carer_1_parental_responsibility (yes, no, not known), "
                                               "carer_1_phone and the same for carer_2 (the whole list); "
                                               "setting_urn, setting_name, setting_start_date; gp_practice_code, "
                                               "gp_practice_name, gp_start_date")
    reason: str = Field(min_length=1, max_length=500, description="why the value is being changed")


class AmendmentDecision(Schema):
    approve: bool = Field(description="true to approve a proposed NHS number, UPN or ULN, false to reject it")


class AmendmentOut(Schema):
    reference: str = Field(description="the change's reference, for approving, rejecting or withdrawing it")
    contactpoint_id: str
    field: str
    status: str = Field(description="active (in effect), proposed (awaiting a second data manager), rejected, "
                                    "retired (a source now agrees), withdrawn or replaced")
    made_at: datetime


class CarerIn(Schema):
    name: str = Field(max_length=200)
    relationship: str = Field("", max_length=200)
    parental_responsibility: bool | None = None
    phone: str = Field("", max_length=30)


class NewChildRequest(Schema):
    """A child no source system knows, created by a local authority's data manager (docs/lifecycle.md). Checked
    as a feed row is; matched first, so a child who may already be on ContactPoint is sent for review instead."""

    submission: str = Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]+$",
                            description="your reference for this request: sending the same one again gives the "
                                        "first answer and makes nothing more (8-64 letters, digits, - or _)")
    given_name: str = Field(max_length=200)
    middle_names: str = Field("", max_length=200)
    family_name: str = Field(max_length=200)
    date_of_birth: str = Field(max_length=10, description="YYYY-MM-DD")
    gender: Literal["male", "female", "not specified"]
    address_line_1: str = Field(max_length=200)
    address_line_2: str = Field("", max_length=200)
    town: str = Field("", max_length=200)
    postcode: str = Field(max_length=10)
    nhs_number: str = Field("", max_length=20)
    upn: str = Field("", max_length=20)
    carers: list[CarerIn] = Field(default_factory=list, max_length=2)


class NewChildOut(Schema):
    outcome: str = Field(description="created (a new record), review (a possible match: sent to the review queue, "
                                     "no record made) or held (held for a data manager, no record made)")
    reference: str = Field(description="the new ContactPoint ID, or the review items' references (R-12), or the "
                                       "held row's (H-3)")
    contactpoint_id: str | None = Field(None, description="only when a record was created")
    message: str
    repeated: bool = Field(description="true when this submission was made before: nothing more was made")
