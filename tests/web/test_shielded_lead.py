"""Taking the lead on a shielded child reveals nothing (issue 19): the question, the pages and the audit entry
are the same whether or not a practitioner the user may not see is the lead professional."""

from __future__ import annotations

import re

import pytest

from contactpoint.audit.models import AuditEntry
from contactpoint.audit.trail import read_detail
from contactpoint.children.identifiers import format_contactpoint_id
from contactpoint.children.models import Child
from contactpoint.records.involvements import SHIELDED_LEAD_QUESTION
from contactpoint.records.models import PractitionerInvolvement
from contactpoint.vault.keyring import get_keyring
from tests.factories import make_record
from tests.search.test_service import add
from tests.web.test_involvement_pages import GOOD, hana, open_record, person_client, sam, text  # noqa: F401

pytestmark = pytest.mark.django_db
LEAD = {**GOOD, "flags": ["lead_professional"]}


def take_the_lead(client, cpid) -> list[tuple[int, str]]:
    """Every response the practitioner gets while recording themselves as lead and confirming, the child's ID
    blanked (the two children differ only in it)."""
    seen = []

    def keep(response):
        body = text(response.content.decode()) + " -> " + response.get("Location", "")
        for form in (cpid, format_contactpoint_id(cpid)):
            body = body.replace(form, "CPID")
        seen.append((response.status_code, re.sub(r"csrfmiddlewaretoken\S*", "", body)))
        return response

    keep(client.get(f"/children/{cpid}/involvement/new"))
    asked = keep(client.post(f"/children/{cpid}/involvement/new", LEAD))
    keep(client.get(asked["Location"]))
    done = keep(client.post(asked["Location"], {"take_lead": "yes"}))
    keep(client.get(done["Location"]))
    return seen


def test_the_lead_question_and_its_outcome_are_the_same_with_or_without_a_withheld_lead(hana, sam):  # noqa: F811
    record = make_record()
    [with_lead] = add(record, shielded=True)
    [without] = add(record, shielded=True)
    # Sam is the lead on one child (he too is asked the neutral question, and confirms).
    open_record(sam, with_lead)
    sam.post(f"/children/{with_lead}/involvement/new", {**LEAD, "service": "social_care", "role": "Social worker"})
    assert sam.post(f"/children/{with_lead}/involvement/lead", {"take_lead": "yes"}).status_code == 302
    assert PractitionerInvolvement.objects.count() == 1

    open_record(hana, with_lead)
    open_record(hana, without)
    one, other = take_the_lead(hana, with_lead), take_the_lead(hana, without)
    assert one == other
    assert "Are you taking over as lead professional?" in one[2][1] and SHIELDED_LEAD_QUESTION in one[2][1]
    assert "Sam" not in str(one) and "Social worker" not in str(one) and "Someone else" not in str(one)

    # The audit entries of her action show the same; whose lead she took is in the sealed detail, for auditors.
    took = {c: AuditEntry.objects.get(action="child.involvement.recorded", actor="hana.visitor", subjects=[c])
            for c in (with_lead, without)}
    shown = [(e.outcome, {k: v for k, v in e.context.items() if k != "entry"}) for e in took.values()]
    assert shown[0] == shown[1] and "took_lead_from" not in shown[0][1]
    sam_key = PractitionerInvolvement.objects.get(child__cpid=with_lead, user__username="sam.social").key
    assert read_detail(get_keyring(), took[with_lead])["took_lead_from"] == [sam_key]
    assert read_detail(get_keyring(), took[without])["took_lead_from"] == []
    # And she is now the one lead on each (Sam's entry lost the flag).
    assert Child.objects.filter(cpid__in=[with_lead, without]).count() == 2
    assert AuditEntry.objects.filter(action="child.involvement.changed", target_user="sam.social").exists()


def test_the_lead_on_a_shielded_record_is_not_asked_again_when_changing_their_entry(hana):  # noqa: F811
    [cpid] = add(make_record(), shielded=True)
    open_record(hana, cpid)
    hana.post(f"/children/{cpid}/involvement/new", LEAD)
    assert hana.post(f"/children/{cpid}/involvement/lead", {"take_lead": "yes"}).status_code == 302
    key = PractitionerInvolvement.objects.get().key
    changed = hana.post(f"/children/{cpid}/involvement/{key}/change", {**LEAD, "phone": "020 7946 0999"})
    assert changed.status_code == 302 and changed["Location"] == f"/children/{cpid}"
