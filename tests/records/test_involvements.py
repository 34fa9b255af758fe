"""Practitioners recording their own involvement, one lead professional, sensitive services with consent, and
brokering by the local authority team (issue 4 item 4, issue 6 item 2)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contactpoint.access.reasons import parse_reason
from contactpoint.audit.models import AuditEntry
from contactpoint.children.models import Child
from contactpoint.children.record import Involvement, SensitiveBasis, SensitiveCategory
from contactpoint.errors import LeadNeedsConfirmation, NotFound, PermissionDenied, ValidationError
from contactpoint.records import brokering
from contactpoint.records.involvements import (
    Details,
    SensitiveGround,
    change_involvement,
    end_involvement,
    record_involvement,
    validate,
    withdraw_consent,
)
from contactpoint.records.models import BrokeringRequest, PractitionerInvolvement
from contactpoint.records.view import build_view, view_record
from contactpoint.vault.keyring import get_keyring
from tests.canary import repeats
from tests.factories import make_person, make_record, vouched_org
from tests.search.test_service import add

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
TODAY = NOW.date()
REASON = parse_reason("health")
CONSENT = SensitiveGround(SensitiveBasis.CONSENT, "The young person", date(2026, 11, 20), "in_person")
HARM = SensitiveGround(SensitiveBasis.SIGNIFICANT_HARM, "Dr Ruth Adeyemi, named doctor", date(2026, 11, 20),
                       why="Disclosure during a clinic appointment")


def details(**changes) -> Details:
    base = Details(service="health_visiting", role="Health visitor", phone="020 7946 0000",
                   email="hana.visitor@nhs.example", start_date=date(2026, 1, 5))
    return replace(base, **changes)


def opened(user, cpid):
    """The user opens the record (recording involvement needs that view in the audit trail)."""
    return view_record(user, cpid, REASON, keyring=get_keyring(), now=NOW)


def seen(user, cpid):
    return build_view(user, Child.objects.get(cpid=cpid), keyring=get_keyring(), overridden=False, today=TODAY)


def record(user, cpid, **kw):
    take_lead = kw.pop("take_lead", False)
    opened(user, cpid)
    return record_involvement(user, cpid, details(**kw), keyring=get_keyring(), now=NOW, take_lead=take_lead)


@pytest.fixture
def child():
    [cpid] = add(make_record())
    return cpid


@pytest.fixture
def hana():
    org = vouched_org(code="NHS-RAL", name="Royal Free London", kind="health")
    return make_person("hana.visitor", role="sch3-2", org=org.code, full_name="Hana Visitor").user


@pytest.fixture
def sam():
    return make_person("sam.social", full_name="Sam Okafor").user


def actions(cpid) -> list[str]:
    return [e.action for e in AuditEntry.objects.filter(subjects=[cpid]).order_by("seq")]


# --- recording -------------------------------------------------------------------------------------------------


def test_a_practitioner_records_their_involvement_and_it_is_on_the_record_with_their_details(child, hana, sam):
    key = record(hana, child)
    opened(sam, child)
    [item] = seen(sam, child).record.involvements
    v = item.value
    assert (v.service, v.practitioner_name, v.organisation) == (
        "Health visiting", "Hana Visitor, Health visitor", "Royal Free London")
    assert (v.practitioner_phone, v.practitioner_email, v.start_date) == (
        "020 7946 0000", "hana.visitor@nhs.example", date(2026, 1, 5))
    assert item.provenance.source == "practitioner:NHS-RAL" and item.provenance.feed == "manual"
    entry = AuditEntry.objects.get(action="child.involvement.recorded")
    assert entry.subjects == [child] and entry.actor == "hana.visitor"
    assert entry.context["entry"] == key and entry.context["service"] == "health_visiting"
    assert b"Hana" not in bytes(PractitionerInvolvement.objects.get(key=key).payload)


def test_recording_needs_the_record_to_have_been_opened_first(child, hana):
    with pytest.raises(PermissionDenied, match="Open the child's record"):
        record_involvement(hana, child, details(), keyring=get_keyring(), now=NOW)
    assert not PractitionerInvolvement.objects.exists()


def test_a_role_without_the_involvement_permission_cannot_record(child):
    manager = make_person("dan.data", role="data-manager").user
    opened(manager, child)
    with pytest.raises(PermissionDenied):
        record_involvement(manager, child, details(), keyring=get_keyring(), now=NOW)


def test_recording_the_same_service_twice_is_refused_with_what_to_do(child, hana):
    record(hana, child)
    with pytest.raises(ValidationError, match="change it instead"):
        record(hana, child)


def test_an_archived_child_cannot_have_involvement_recorded(child, hana):
    opened(hana, child)
    Child.objects.filter(cpid=child).update(status="archived")
    with pytest.raises(NotFound):
        record_involvement(hana, child, details(), keyring=get_keyring(), now=NOW)


@pytest.mark.parametrize("changes,field,words", [
    ({"service": "astrology"}, "service", "choose the service"),
    ({"role": "  "}, "role", "enter your role"),
    ({"phone": "", "email": ""}, "phone", "phone number or an email address"),
    ({"phone": "call me"}, "phone", "enter a phone number"),
    ({"email": "not-an-email"}, "email", "correct format"),
    ({"start_date": None}, "start_date", "enter the date"),
    ({"start_date": date(2026, 11, 25)}, "start_date", "today or in the past"),
    ({"start_date": date(2015, 6, 2)}, "start_date", "child's date of birth"),
])
def test_bad_details_are_refused_naming_the_field_and_what_to_do(changes, field, words):
    with pytest.raises(ValidationError) as refused:
        validate(details(**changes), today=TODAY, born=date(2015, 6, 3))
    assert refused.value.field == field and words in refused.value.reason


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(phone=st.text(max_size=40), email=st.text(max_size=60), role=st.text(max_size=120))
def test_validation_either_accepts_tidy_details_or_refuses_without_repeating_them(phone, email, role):
    try:
        clean = validate(details(phone=phone, email=email, role=role), today=TODAY)
    except ValidationError as refused:
        for typed in (phone, email, role):
            if len(typed.strip()) > 3:
                assert not repeats(typed, refused.message)
        return
    assert clean.role and clean.role == " ".join(clean.role.split()) and len(clean.role) <= 100
    assert clean.phone or clean.email
    assert "\n" not in clean.phone + clean.email


# --- changing and ending: only the practitioner or their organisation's administrator ----------------------------


def test_only_the_practitioner_or_their_organisations_administrator_can_change_or_end_it(child, hana, sam):
    key = record(hana, child)
    colleague = make_person("hal.colleague", role="sch3-2", org="NHS-RAL").user
    other_admin = make_person("ada.admin", role="org-admin", org="LA-202").user
    for stranger in (sam, colleague, other_admin):
        with pytest.raises(PermissionDenied, match="Only the practitioner who recorded"):
            change_involvement(stranger, key, details(role="Impostor"), keyring=get_keyring(), now=NOW)
        with pytest.raises(PermissionDenied):
            end_involvement(stranger, key, TODAY, keyring=get_keyring(), now=NOW)

    change_involvement(hana, key, details(phone="020 7946 0999"), keyring=get_keyring(), now=NOW)
    assert seen(sam, child).record.involvements[0].value.practitioner_phone == "020 7946 0999"

    # Hana's organisation is a vouched health body: its administrators are the LA's; a national partner's
    # administrator manages their own staff's entries.
    partner = make_person("nia.partner", role="national-partner", org="NP-NSPCC", full_name="Nia Partner").user
    partner_key = record(partner, child, service="voluntary", role="Family support worker")
    partner_admin = make_person("pat.admin", role="org-admin", org="NP-NSPCC").user
    end_involvement(partner_admin, partner_key, TODAY, keyring=get_keyring(), now=NOW)
    ended = next(i.value for i in seen(sam, child).record.involvements if i.value.key == partner_key)
    assert ended.end_date == TODAY and ended.practitioner_name == "Nia Partner, Family support worker"
    assert AuditEntry.objects.get(action="child.involvement.ended").actor == "pat.admin"
    assert AuditEntry.objects.get(action="child.involvement.ended").target_user == "nia.partner"


def test_ending_keeps_the_involvement_on_the_record_with_its_dates(child, hana, sam):
    key = record(hana, child, lead_professional=True)
    with pytest.raises(ValidationError, match="on or after the date it started"):
        end_involvement(hana, key, date(2025, 12, 1), keyring=get_keyring(), now=NOW)
    with pytest.raises(ValidationError, match="today or in the past"):
        end_involvement(hana, key, TODAY + timedelta(days=1), keyring=get_keyring(), now=NOW)
    end_involvement(hana, key, date(2026, 11, 1), keyring=get_keyring(), now=NOW)
    view = seen(sam, child)
    [item] = view.record.involvements
    assert item.value.end_date == date(2026, 11, 1)
    assert view.lead_professional is None  # an ended involvement leads no one
    assert actions(child)[-1] == "child.involvement.ended"


# --- one lead professional ---------------------------------------------------------------------------------------


def test_taking_the_lead_from_someone_else_needs_confirmation_and_both_sides_are_audited(child, hana, sam):
    hana_key = record(hana, child, lead_professional=True)
    with pytest.raises(LeadNeedsConfirmation) as asked:
        record(sam, child, service="social_care", role="Social worker", lead_professional=True)
    assert "Hana Visitor, Health visitor (Health visiting) is recorded as the lead professional" in str(asked.value)
    assert PractitionerInvolvement.objects.count() == 1  # nothing recorded until confirmed

    sam_key = record(sam, child, service="social_care", role="Social worker", lead_professional=True,
                     take_lead=True)
    view = seen(hana, child)
    leads = [i.value.key for i in view.record.involvements if i.value.lead_professional]
    assert leads == [sam_key] and view.lead_professional.value.practitioner_name == "Sam Okafor, Social worker"
    lost = AuditEntry.objects.get(action="child.involvement.changed")
    assert lost.context["lead_taken"] is True and lost.target_user == "hana.visitor" and lost.actor == "sam.social"
    took = AuditEntry.objects.get(action="child.involvement.recorded", actor="sam.social")
    assert took.context["took_lead_from"] == [hana_key]


def test_a_lead_a_source_reports_gives_way_to_a_practitioner_who_confirmed_taking_over(hana):
    [cpid] = add(make_record(involvements=(Involvement(
        key="feed1", service="Youth offending team", practitioner_name="Yusuf Feed", start_date=date(2025, 1, 1),
        lead_professional=True),)))
    with pytest.raises(LeadNeedsConfirmation, match="Yusuf Feed"):
        record(hana, cpid, lead_professional=True)
    key = record(hana, cpid, lead_professional=True, take_lead=True)
    view = seen(hana, cpid)
    assert [i.value.key for i in view.record.involvements if i.value.lead_professional] == [key]
    assert AuditEntry.objects.get(action="child.involvement.recorded").context["took_lead_from"] == ["feed1"]


def test_changing_to_lead_professional_also_needs_confirmation(child, hana, sam):
    record(sam, child, service="social_care", role="Social worker", lead_professional=True)
    key = record(hana, child)
    with pytest.raises(LeadNeedsConfirmation):
        change_involvement(hana, key, details(lead_professional=True), keyring=get_keyring(), now=NOW)
    change_involvement(hana, key, details(lead_professional=True, caf_completed=True), keyring=get_keyring(),
                       now=NOW, take_lead=True)
    view = seen(sam, child)
    assert view.lead_professional.value.key == key
    assert [h.value.key for h in view.caf_holders] == [key]


# --- shielded children ---------------------------------------------------------------------------------------------


def test_a_shielded_childs_involvement_can_be_recorded_and_the_lead_is_not_named(hana, sam):
    [cpid] = add(make_record(), shielded=True)
    with pytest.raises(LeadNeedsConfirmation):  # asked even with no lead: the answer would say who is involved
        record(sam, cpid, service="social_care", role="Social worker", lead_professional=True)
    record(sam, cpid, service="social_care", role="Social worker", lead_professional=True, take_lead=True)
    with pytest.raises(LeadNeedsConfirmation) as asked:
        record(hana, cpid, lead_professional=True)
    assert "cannot tell you whether another practitioner" in str(asked.value) and "Sam" not in str(asked.value)
    key = record(hana, cpid)
    view = seen(hana, cpid)
    assert view.withheld and view.record.involvements == ()  # the others stay withheld
    assert [e.key for e in view.own_entries] == [key]  # but her own entry is hers to manage


# --- sensitive services --------------------------------------------------------------------------------------------


def test_a_sensitive_service_needs_consent_or_the_significant_harm_ground(child, hana):
    with pytest.raises(ValidationError) as refused:
        record(hana, child, service="sexual_health", role="Nurse")
    assert refused.value.field == "ground" and "consent" in refused.value.reason
    with pytest.raises(ValidationError, match="who gave consent"):
        record(hana, child, service="sexual_health", role="Nurse", ground=replace(CONSENT, by=" "))
    with pytest.raises(ValidationError, match="why significant harm"):
        record(hana, child, service="sexual_health", role="Nurse", ground=replace(HARM, why=""))
    record(hana, child, service="sexual_health", role="Nurse", ground=CONSENT)
    entry = AuditEntry.objects.get(action="child.involvement.recorded")
    assert entry.context["service"] == "sensitive" and entry.context["basis"] == "consent"


def test_a_sensitive_service_is_hidden_from_everyone_but_its_practitioner_and_the_responsible_la_team(child, hana,
                                                                                                     sam):
    key = record(hana, child, service="mental_health", role="Counsellor", ground=CONSENT)
    opened(sam, child)
    others = seen(sam, child)
    assert others.sensitive_involved and others.record.involvements == ()
    mine = seen(hana, child)
    assert [i.value.key for i in mine.record.involvements] == [key]
    assert mine.record.involvements[0].value.sensitive == SensitiveCategory.MENTAL_HEALTH
    camden_team = make_person("dan.data", role="data-manager", org="LA-202").user
    city_team = make_person("cal.city", role="data-manager", org="LA-201").user
    assert [i.value.service for i in seen(camden_team, child).record.involvements] == ["Mental health service"]
    assert seen(city_team, child).record.involvements == () and seen(city_team, child).sensitive_involved


def test_withdrawing_consent_removes_the_sensitive_service_altogether(child, hana, sam):
    key = record(hana, child, service="substance_misuse", role="Drugs worker", ground=CONSENT)
    with pytest.raises(PermissionDenied):
        withdraw_consent(sam, key, keyring=get_keyring(), now=NOW)
    withdraw_consent(hana, key, keyring=get_keyring(), now=NOW)
    assert not PractitionerInvolvement.objects.filter(key=key).exists()
    assert not seen(sam, child).sensitive_involved and seen(hana, child).record.involvements == ()
    gone = AuditEntry.objects.get(action="child.involvement.consent_withdrawn")
    assert gone.subjects == [child] and gone.context == {"entry": key, "service": "sensitive"}


def test_the_responsible_la_team_can_record_a_withdrawal_but_consent_cannot_be_withdrawn_from_a_harm_decision(
        child, hana):
    consented = record(hana, child, service="sexual_health", role="Nurse", ground=CONSENT)
    harm = record(hana, child, service="mental_health", role="Psychiatrist", ground=HARM)
    city_team = make_person("cal.city", role="data-manager", org="LA-201").user
    with pytest.raises(PermissionDenied):
        withdraw_consent(city_team, consented, keyring=get_keyring(), now=NOW)
    withdraw_consent(make_person("dan.data", role="data-manager").user, consented, keyring=get_keyring(), now=NOW)
    with pytest.raises(ValidationError, match="end it instead"):
        withdraw_consent(hana, harm, keyring=get_keyring(), now=NOW)


def test_a_changed_sensitive_entry_keeps_its_consent_and_the_ground_survives_a_merge_move(child, hana):
    from contactpoint.children.store import cipher_for
    from contactpoint.records.involvements import open_involvement, seal_involvement

    key = record(hana, child, service="sexual_health", role="Nurse", ground=CONSENT)
    change_involvement(hana, key, details(service="sexual_health", role="Senior nurse"), keyring=get_keyring(),
                       now=NOW)
    entry = PractitionerInvolvement.objects.get(key=key)
    cipher = cipher_for(get_keyring(), entry.child)
    held = open_involvement(cipher, entry)
    assert held.ground == CONSENT and held.role == "Senior nurse"
    # matching.review moves entries with seal_involvement(open_involvement(...)): nothing may be lost.
    [other] = add(make_record(given="Other"))
    other_cipher = cipher_for(get_keyring(), Child.objects.get(cpid=other))
    entry.payload = seal_involvement(other_cipher, key, held)
    assert open_involvement(other_cipher, entry) == held


# --- brokering ------------------------------------------------------------------------------------------------------


def test_a_brokering_request_reaches_only_the_responsible_las_work_list(child, hana, sam):
    record(hana, child, service="sexual_health", role="Nurse", ground=CONSENT)
    opened(sam, child)
    request = brokering.request_contact(sam, child, "Child protection conference on Friday",
                                        keyring=get_keyring(), now=NOW)
    assert request.kind == "sensitive" and request.status == "open"
    camden = make_person("dan.data", role="data-manager", org="LA-202").user
    city = make_person("cal.city", role="data-manager", org="LA-201").user
    assert [r.pk for r in brokering.work_list(camden)] == [request.pk]
    assert brokering.work_list(city) == []
    with pytest.raises(NotFound):
        brokering.open_request(city, request.pk, keyring=get_keyring(), now=NOW)
    with pytest.raises(PermissionDenied):
        brokering.work_list(hana)

    shown = brokering.open_request(camden, request.pk, keyring=get_keyring(), now=NOW)
    assert shown.message == "Child protection conference on Friday"
    brokering.resolve(camden, request.pk, "brokered", "Nurse agreed to call", keyring=get_keyring(), now=NOW)
    assert brokering.work_list(camden) == []
    with pytest.raises(ValidationError, match="already been dealt with"):
        brokering.resolve(camden, request.pk, "closed", "", keyring=get_keyring(), now=NOW)
    assert actions(child)[-3:] == ["child.brokering.requested", "child.brokering.opened", "child.brokering.resolved"]
    assert AuditEntry.objects.get(action="child.brokering.resolved").context["status"] == "brokered"
    assert b"Friday" not in bytes(BrokeringRequest.objects.get().payload)


def test_asking_twice_keeps_one_open_request_and_a_shielded_record_can_be_brokered(sam):
    [cpid] = add(make_record(), shielded=True)
    opened(sam, cpid)
    first = brokering.request_contact(sam, cpid, "", keyring=get_keyring(), now=NOW)
    again = brokering.request_contact(sam, cpid, "Still need to reach the school", keyring=get_keyring(), now=NOW)
    assert first.pk == again.pk and first.kind == "shielded" and BrokeringRequest.objects.count() == 1


def test_there_is_nothing_to_broker_when_everyone_is_on_the_record(child, sam):
    opened(sam, child)
    with pytest.raises(ValidationError, match="contact them directly"):
        brokering.request_contact(sam, child, "", keyring=get_keyring(), now=NOW)
    [other] = add(make_record(given="Bea"))
    with pytest.raises(PermissionDenied, match="Open the child's record"):
        brokering.request_contact(sam, other, "", keyring=get_keyring(), now=NOW)


def test_resolving_needs_a_known_outcome(child, hana, sam):
    record(hana, child, service="sexual_health", role="Nurse", ground=CONSENT)
    opened(sam, child)
    request = brokering.request_contact(sam, child, "", keyring=get_keyring(), now=NOW)
    camden = make_person("dan.data", role="data-manager").user
    with pytest.raises(ValidationError, match="choose whether"):
        brokering.resolve(camden, request.pk, "open", "", keyring=get_keyring(), now=NOW)


# --- nothing in clear ------------------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_involvements_consents_and_requests_leave_no_child_data_in_clear_in_the_database():
    from django.db import connection

    from tests.canary import CANARY, leaks_in
    from tests.test_canary import _pg_dump, _sqlite_bytes

    [cpid] = add(make_record(given=CANARY["given"], family=CANARY["family"], dob=CANARY["date_of_birth"],
                             postcode=CANARY["postcode"], nhs=CANARY["nhs_number"]))
    org = vouched_org(code="NHS-RAL", name="Royal Free London", kind="health")
    hana = make_person("hana.visitor", role="sch3-2", org=org.code).user
    sam = make_person("sam.social").user
    name = f"{CANARY['given']} {CANARY['family']}"
    record(hana, cpid, service="sexual_health", role="Nurse", ground=replace(CONSENT, by=name))
    opened(sam, cpid)
    brokering.request_contact(sam, cpid, f"Need to reach whoever sees {name}, born {CANARY['date_of_birth']}",
                              keyring=get_keyring(), now=NOW)
    raw = _sqlite_bytes() if connection.vendor == "sqlite" else _pg_dump()
    assert PractitionerInvolvement.objects.count() == 1 and BrokeringRequest.objects.count() == 1
    assert leaks_in(raw) == []
