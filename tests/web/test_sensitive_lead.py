"""Taking the lead where a sensitive service is involved reveals nothing (issue 19): a practitioner who may not see
the sensitive service is asked the same question, sees the same pages and ends with the same record whether or
not that service is the lead professional; the practitioner who can see it is told who leads."""

from __future__ import annotations

import pytest

from contactpoint.audit.models import AuditEntry
from contactpoint.records.involvements import WITHHELD_LEAD_QUESTION
from contactpoint.records.models import PractitionerInvolvement
from tests.factories import make_record
from tests.search.test_service import add
from tests.web.test_involvement_pages import CONSENT, GOOD, hana, open_record, sam, text  # noqa: F401
from tests.web.test_shielded_lead import take_the_lead

pytestmark = pytest.mark.django_db
SENSITIVE = {**GOOD, "service": "mental_health", "role": "Counsellor"}


def sensitive_entry(client, cpid, *, lead: bool) -> str:
    open_record(client, cpid)
    first = client.post(f"/children/{cpid}/involvement/new",
                        {**SENSITIVE, **({"flags": ["lead_professional"]} if lead else {})})
    assert first["Location"] == f"/children/{cpid}/involvement/consent"
    assert client.post(first["Location"], CONSENT)["Location"] == f"/children/{cpid}"
    return PractitionerInvolvement.objects.get(child__cpid=cpid).key


def test_the_lead_question_is_the_same_whether_or_not_a_withheld_sensitive_service_leads(hana, sam):  # noqa: F811
    record = make_record()
    [sensitive_lead] = add(record)
    [sensitive_not_lead] = add(record)
    lead_key = sensitive_entry(hana, sensitive_lead, lead=True)
    sensitive_entry(hana, sensitive_not_lead, lead=False)

    # Sam sees "a service is involved" on both records, never which, nor whether it leads.
    for cpid in (sensitive_lead, sensitive_not_lead):
        page = text(open_record(sam, cpid))
        assert "A service is involved" in page and "Lead professional: none recorded" in page
    one, other = take_the_lead(sam, sensitive_lead), take_the_lead(sam, sensitive_not_lead)
    assert one == other
    assert "Are you taking over as lead professional?" in one[2][1] and WITHHELD_LEAD_QUESTION in one[2][1]
    assert "Hana" not in str(one) and "Counsellor" not in str(one)
    assert "Mental health" not in one[2][1]  # (the form's list of services names every service)

    # The outcome is the same too: Sam leads on both; Hana's entry lost the flag (audited, for her and auditors).
    for cpid in (sensitive_lead, sensitive_not_lead):
        assert "Lead professional: Sam Okafor" in text(sam.get(f"/children/{cpid}").content.decode())
    lost = AuditEntry.objects.get(action="child.involvement.changed", target_user="hana.visitor")
    assert lost.context["lead_taken"] is True and lost.context["entry"] == lead_key
    assert "Lead professional: Sam Okafor" in text(hana.get(f"/children/{sensitive_lead}").content.decode())


def test_a_record_with_no_sensitive_service_asks_nothing_as_before(sam):  # noqa: F811
    [cpid] = add(make_record())
    open_record(sam, cpid)
    done = sam.post(f"/children/{cpid}/involvement/new", {**GOOD, "service": "social_care", "role": "Social worker",
                                                          "flags": ["lead_professional"]})
    assert done["Location"] == f"/children/{cpid}"


def test_who_can_see_the_sensitive_lead_is_told_who_it_is(hana):  # noqa: F811
    [cpid] = add(make_record())
    sensitive_entry(hana, cpid, lead=True)
    # Hana records a second involvement as lead: she sees her own sensitive entry, so it is named to her.
    asked = hana.post(f"/children/{cpid}/involvement/new", {**GOOD, "flags": ["lead_professional"]})
    assert asked["Location"] == f"/children/{cpid}/involvement/lead"
    page = text(hana.get(asked["Location"]).content.decode())
    assert "Hana Visitor, Counsellor (Mental health service) is recorded as the lead professional" in page
    assert "Someone else is the lead professional" in page and WITHHELD_LEAD_QUESTION not in page


def test_the_record_and_the_api_show_the_same_lead_whether_or_not_a_withheld_service_took_it(hana, sam):  # noqa: F811
    from datetime import date

    from django.test import Client

    from contactpoint.children.record import Involvement
    from tests.api.clients import bearer, open_token
    from tests.factories import make_person

    reported = make_record(involvements=(Involvement(
        key="feed1", service="Youth offending team", practitioner_name="Yusuf Feed", start_date=date(2025, 1, 1),
        lead_professional=True),))
    [took, did_not] = add(reported, reported)
    # Hana (mental health) takes the lead on one, confirming over the lead she sees; on the other she does not.
    open_record(hana, took)
    asked = hana.post(f"/children/{took}/involvement/new", {**SENSITIVE, "flags": ["lead_professional"]})
    assert asked["Location"] == f"/children/{took}/involvement/lead"
    consent = hana.post(asked["Location"], {"take_lead": "yes"})
    assert hana.post(consent["Location"], CONSENT)["Location"] == f"/children/{took}"
    sensitive_entry(hana, did_not, lead=False)

    pages = [text(open_record(sam, cpid)) for cpid in (took, did_not)]
    for page in pages:
        assert "Lead professional: Yusuf Feed" in page and "A service is involved" in page
    client = Client()
    token = open_token(client, make_person("sam.api", full_name="Sam Api"))
    answers = []
    for cpid in (took, did_not):
        body = client.get(f"/api/v1/children/{cpid}", {"reason": "health"}, **bearer(token)).json()
        answers.append([(s["practitioner_name"], s["lead_professional"]) for s in body["services_involved"]])
    assert answers[0] == answers[1] == [("Yusuf Feed", True)]
    # Hana, who sees her own entry, sees herself as the lead where she took it.
    assert "Lead professional: Hana Visitor, Counsellor" in text(hana.get(f"/children/{took}").content.decode())
