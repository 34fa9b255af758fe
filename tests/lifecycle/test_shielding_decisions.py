"""Shielding decisions and the retention policy's dates."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contactpoint.bestview.discrepancies import report
from contactpoint.children.models import Child
from contactpoint.dates import anniversary, live_until
from contactpoint.errors import LifecycleError, ValidationError
from contactpoint.lifecycle import shielding
from contactpoint.lifecycle.models import ShieldDecision
from contactpoint.lifecycle.shielding import Proposal, ThreatLevel
from tests.lifecycle.support import at, born, feed, now, people, row, send, source

DB = pytest.mark.django_db


def _proposal(review_on=None, **changes) -> Proposal:
    base = {"reason": "Fled domestic violence.", "threat": ThreatLevel.SEVERE, "child_view": "Agrees.",
            "carer_view": "Asked for it.", "review_on": review_on}
    return Proposal(**{**base, **changes})


@DB
def test_a_rejected_proposal_changes_nothing_and_a_rejection_needs_a_reason(ring):
    with at(date(2026, 3, 1)):
        dm1, dm2, _worker = people()
        cpid = born(date(2015, 6, 3))
        d = shielding.propose(dm1, cpid, "shield", _proposal(date(2026, 9, 1)), keyring=ring, now=now())
        with pytest.raises(ValidationError, match="say why"):
            shielding.decide(dm2, d.pk, approve=False, note="", keyring=ring, now=now())
        shielding.decide(dm2, d.pk, approve=False, note="Threat not established.", keyring=ring, now=now())
        assert not Child.objects.get(cpid=cpid).shielded
        with pytest.raises(LifecycleError, match="already been decided"):
            shielding.decide(dm2, d.pk, approve=True, note="", keyring=ring, now=now())
        assert shielding.read(ring, ShieldDecision.objects.get())[1] == "Threat not established."


@DB
def test_proposals_need_views_a_review_date_within_a_year_and_one_at_a_time(ring):
    with at(date(2026, 3, 1)):
        dm1, _, worker = people()
        cpid = born(date(2015, 6, 3))
        with pytest.raises(ValidationError, match="child's view"):
            shielding.propose(dm1, cpid, "shield", _proposal(date(2026, 9, 1), child_view=" "), keyring=ring,
                              now=now())
        with pytest.raises(ValidationError, match="within a year"):
            shielding.propose(dm1, cpid, "shield", _proposal(date(2027, 9, 1)), keyring=ring, now=now())
        with pytest.raises(LifecycleError, match="not shielded"):
            shielding.propose(dm1, cpid, "unshield", _proposal(), keyring=ring, now=now())
        shielding.propose(dm1, cpid, "shield", _proposal(date(2026, 9, 1)), keyring=ring, now=now())
        with pytest.raises(LifecycleError, match="already awaiting approval"):
            shielding.propose(dm1, cpid, "shield", _proposal(date(2026, 9, 1)), keyring=ring, now=now())
        from contactpoint.errors import PermissionDenied

        with pytest.raises(PermissionDenied):
            shielding.propose(worker, cpid, "shield", _proposal(date(2026, 9, 1)), keyring=ring, now=now())


@DB
def test_the_reason_and_views_are_stored_only_encrypted(ring):
    with at(date(2026, 3, 1)):
        dm1, _, _ = people()
        cpid = born(date(2015, 6, 3))
        shielding.propose(dm1, cpid, "shield", _proposal(date(2026, 9, 1), reason="Fled from Mr Okonkwo-Blake"),
                          keyring=ring, now=now())
        assert b"Okonkwo" not in bytes(ShieldDecision.objects.get().payload)


@DB
def test_a_discrepancy_report_to_a_source_says_nothing_of_a_shielded_child(ring):
    with at(date(2026, 3, 1)):
        dm1, dm2, _ = people()
        gp, school = source("gp-test", "gp_registrations"), source("school-test", "school_census")
        send(gp, feed(**{"GP-1": row(dob="2015-06-03")}))
        send(gp, feed(**{"GP-2": row(dob="2015-06-03", given="Bella", nhs="")}))  # noise for the vote
        send(school, feed(**{"SC-1": row(dob="2015-06-03", gender="male")}))
        child = Child.objects.get(source_records__record_key__isnull=False, source_records__source="school-test")
        before = [i.message for i in report("school-test", keyring=ring)]
        assert any("Others hold female" in m for m in before)
        d = shielding.propose(dm1, child.cpid, "shield", _proposal(date(2026, 9, 1)), keyring=ring, now=now())
        shielding.decide(dm2, d.pk, approve=True, note="", keyring=ring, now=now())
        send(school, feed(**{"SC-1": row(dob="2015-06-03", gender="male", address="1 New Road")}))
        after = [i.message for i in report("school-test", keyring=ring)]
        assert after and not any("Others hold" in m or "New Road" in m for m in after)


@given(dob=st.dates(date(1990, 1, 1), date(2040, 12, 31)), consent=st.booleans(),
       death_after=st.one_of(st.none(), st.integers(0, 30 * 365)))
def test_a_record_is_never_live_past_25_nor_past_a_year_after_death(dob, consent, death_after):
    death = dob + timedelta(days=death_after) if death_after is not None else None
    end = live_until(dob, consent_to_25=consent, date_of_death=death)
    assert end <= anniversary(dob, 25 if consent else 18)
    if death is not None:
        assert end <= anniversary(death, 1)
    else:
        assert end == anniversary(dob, 25 if consent else 18)
    assert end > dob
