"""Live to 18, to 25 with consent, one year after a death; archived, sealed, deleted; moves and new identities.
Every date comes from a fixed clock."""

from __future__ import annotations

from datetime import date

import pytest

from contactpoint.audit.models import AuditEntry
from contactpoint.children.models import Child
from contactpoint.children.store import load_record
from contactpoint.errors import LifecycleError, PermissionDenied, ValidationError
from contactpoint.lifecycle import archive, consent, notices, run, transitions
from contactpoint.lifecycle.consent import Basis, Consent, Method
from contactpoint.lifecycle.notices import IdentityKind, NewIdentity
from tests.lifecycle.support import at, born, find, lifecycle_run, now, people, status

pytestmark = pytest.mark.django_db
DOB = date(2012, 5, 20)


def _consent(on: date) -> Consent:
    return Consent(Basis.CARE_LEAVER, "Amelia Hartley", on, Method.IN_PERSON, "Leaving care personal adviser",
                   informed=True)


def test_consent_to_25_keeps_a_care_leaver_live_until_their_25th_birthday(ring):
    with at(date(2029, 11, 1)):  # 17
        dm1, _, worker = people()
        cpid = born(DOB)
        consent.record_consent(dm1, cpid, _consent(now().date()), keyring=ring, now=now())
    with at(date(2030, 5, 20)):  # 18: stays live, looked at again in the month of the 25th birthday
        report = lifecycle_run()
        assert report.archived == [] and status(cpid) == "live"
        assert Child.objects.get(cpid=cpid).review_month == date(2037, 5, 1)
        assert find(worker, family="Hartley", birthdate="2012-05-20") == [cpid]
    with at(date(2037, 5, 19)):
        assert lifecycle_run().archived == []
    with at(date(2037, 5, 20)):  # 25
        assert lifecycle_run().archived == [cpid]
    with at(date(2038, 5, 20)):
        assert lifecycle_run().sealed == [cpid]
    with at(date(2043, 5, 20)):  # six years after archiving
        assert lifecycle_run().deleted == [cpid] and status(cpid) == "deleted"


def test_consent_withdrawn_at_21_archives_on_the_next_run_and_the_clocks_start_then(ring):
    with at(date(2029, 11, 1)):
        dm1, _, worker = people()
        cpid = born(DOB)
        consent.record_consent(dm1, cpid, _consent(now().date()), keyring=ring, now=now())
    with at(date(2030, 5, 20)):
        lifecycle_run()
    with at(date(2033, 8, 1)):  # 21
        consent.withdraw_consent(dm1, cpid, on=now().date(), how="Told her personal adviser she wants off it",
                                 keyring=ring, now=now())
        assert status(cpid) == "live"  # until the next run
    with at(date(2033, 8, 2)):
        assert lifecycle_run().archived == [cpid]
        assert find(worker, family="Hartley", birthdate="2012-05-20") == []
        [entry] = archive.archived_records(dm1, keyring=ring, now=now())
        assert entry.archived_on == date(2033, 8, 1) and entry.reason.startswith("Consent to stay withdrawn")
    with at(date(2034, 8, 1)):
        assert lifecycle_run().sealed == [cpid]
    with at(date(2039, 8, 1)):
        assert lifecycle_run().deleted == [cpid]


def test_consent_must_be_informed_and_given_by_the_young_person_between_16_and_25(ring):
    with at(date(2025, 1, 1)):  # 12
        dm1, _, _ = people()
        cpid = born(DOB)
        with pytest.raises(ValidationError, match="informed"):
            consent.record_consent(dm1, cpid, Consent(Basis.LEARNING_DISABILITY, "Amelia", now().date(),
                                                      Method.IN_WRITING, "Adviser", informed=False),
                                   keyring=ring, now=now())
        with pytest.raises(ValidationError, match="between the ages of 16 and 25"):
            consent.record_consent(dm1, cpid, _consent(now().date()), keyring=ring, now=now())
        with pytest.raises(LifecycleError, match="no consent to withdraw"):
            consent.withdraw_consent(dm1, cpid, on=now().date(), how="asked", keyring=ring, now=now())


def test_a_death_at_10_keeps_the_record_live_one_more_year(ring):
    with at(date(2022, 7, 1)):  # 10
        dm1, _, worker = people()
        cpid = born(DOB)
        notices.notify_death(dm1, cpid, date_of_death=date(2022, 6, 28), how="Registrar's notification",
                             keyring=ring, now=now())
        record = load_record(ring, Child.objects.get(cpid=cpid))
        assert record.date_of_death.value == date(2022, 6, 28)
        assert Child.objects.get(cpid=cpid).review_month == date(2023, 6, 1)
        with pytest.raises(LifecycleError, match="already been notified"):
            notices.notify_death(dm1, cpid, date_of_death=date(2022, 6, 28), how="again", keyring=ring, now=now())
    with at(date(2023, 6, 27)):
        assert lifecycle_run().archived == [] and find(worker, family="Hartley", birthdate="2012-05-20") == [cpid]
    with at(date(2023, 6, 28)):
        assert lifecycle_run().archived == [cpid]
        [entry] = archive.archived_records(dm1, keyring=ring, now=now())
        assert entry.reason == "Death notified"
    with at(date(2024, 6, 28)):
        assert lifecycle_run().sealed == [cpid]
    with at(date(2029, 6, 28)):
        assert lifecycle_run().deleted == [cpid]


def test_the_run_finds_a_notified_death_even_after_a_feed_rebuilt_the_record_without_it(ring):
    with at(date(2022, 7, 1)):
        dm1, _, _ = people()
        cpid = born(DOB)
        notices.notify_death(dm1, cpid, date_of_death=date(2022, 6, 28), how="Registrar", keyring=ring, now=now())
        Child.objects.filter(cpid=cpid).update(review_month=date(2030, 5, 1))  # as a feed's rebuild would
    with at(date(2023, 6, 28)):
        assert lifecycle_run().archived == [cpid]


def test_leaving_england_archives_and_coming_back_within_3_years_restores(ring):
    with at(date(2020, 3, 1)):
        dm1, _, worker = people()
        cpid = born(DOB)
        notices.left_england(dm1, cpid, left_on=date(2020, 2, 20), intends_to_return=True, keyring=ring,
                             now=now())
        assert status(cpid) == "archived" and find(worker, family="Hartley", birthdate="2012-05-20") == []
    with at(date(2021, 2, 20)):
        assert lifecycle_run().sealed == [cpid]
    with at(date(2022, 9, 1)):  # back, within 3 years: live and searchable again
        notices.returned_to_england(dm1, cpid, returned_on=now().date(), keyring=ring, now=now())
        assert status(cpid) == "live" and find(worker, family="Hartley", birthdate="2012-05-20") == [cpid]
        assert not Child.objects.get(cpid=cpid).data_key.kek_id.startswith("ret-")
        assert lifecycle_run().archived == []
        record = load_record(ring, Child.objects.get(cpid=cpid))
        assert record.whereabouts.value.state == "last_known"


def test_coming_back_after_more_than_3_years_leaves_the_record_archived(ring):
    with at(date(2020, 3, 1)):
        dm1, _, _ = people()
        cpid = born(DOB)
        notices.left_england(dm1, cpid, left_on=date(2020, 2, 20), intends_to_return=False, keyring=ring,
                             now=now())
    with at(date(2023, 2, 21)):
        with pytest.raises(LifecycleError, match="more than 3 years"):
            notices.returned_to_england(dm1, cpid, returned_on=now().date(), keyring=ring, now=now())
        assert status(cpid) == "archived"  # (no run has been since it left)


def test_a_new_identity_cuts_every_visible_link_to_the_old_record(ring):
    with at(date(2021, 4, 1)):
        dm1, dm2, worker = people()
        old = born(DOB)
        new = notices.new_identity(dm1, old, NewIdentity(IdentityKind.ADOPTION, "Grace", "Okafor"),
                                   keyring=ring, now=now())
        assert new != old and status(old) == "sealed" and status(new) == "live"
        assert Child.objects.get(cpid=old).merged_into is None and Child.objects.get(cpid=new).merged_into is None
        assert find(worker, family="Hartley", birthdate="2012-05-20") == []
        assert find(worker, family="Okafor", birthdate="2012-05-20") == [new]
        fresh = load_record(ring, Child.objects.get(cpid=new))
        assert not fresh.former_names and fresh.nhs_number is None and fresh.whereabouts is None
        assert not fresh.source_ids and not fresh.carers
        # No audit entry names both records.
        assert not [e for e in AuditEntry.objects.all() if old in e.subjects and new in e.subjects]
        assert not [e for e in AuditEntry.objects.all() if new in str(e.context) or old in str(e.context)]
        # The one link is inside the sealed record, read only after two officers open it.
        opening = archive.request_opening(dm1, old, "serious_case_review", "Serious case review 2021/04 ordered",
                                          keyring=ring, now=now())
        with pytest.raises(LifecycleError, match="not open to you"):
            archive.view_sealed(dm1, opening.pk, keyring=ring, now=now())
        with pytest.raises(LifecycleError, match="second authorised officer"):
            archive.decide_opening(dm1, opening.pk, approve=True, keyring=ring, now=now())
        archive.decide_opening(dm2, opening.pk, approve=True, keyring=ring, now=now())
        view, info = archive.view_sealed(dm1, opening.pk, keyring=ring, now=now())
        assert info["new_cpid"] == new and view.record.name.value.family == "Hartley"
        assert AuditEntry.objects.filter(action="lifecycle.sealed.opened", subjects=[old]).exists()


def test_a_sealed_record_opens_only_for_the_three_purposes_and_only_for_a_while(ring):
    with at(date(2020, 3, 1)):
        dm1, dm2, worker = people()
        cpid = born(DOB)
        notices.left_england(dm1, cpid, left_on=date(2020, 3, 1), intends_to_return=None, keyring=ring, now=now())
    with at(date(2021, 3, 1)):
        lifecycle_run()
        with pytest.raises(ValidationError, match="serious case review"):
            archive.request_opening(dm1, cpid, "curiosity", "I would like to look please", keyring=ring,
                                    now=now())
        with pytest.raises(PermissionDenied):
            archive.request_opening(worker, cpid, "child_protection", "Section 47 enquiry 2021/77",
                                    keyring=ring, now=now())
        opening = archive.request_opening(dm1, cpid, "child_protection", "Section 47 enquiry 2021/77",
                                          keyring=ring, now=now())
        archive.decide_opening(dm2, opening.pk, approve=True, keyring=ring, now=now())
        archive.view_sealed(dm2, opening.pk, keyring=ring, now=now())
    with at(date(2021, 3, 9)), pytest.raises(LifecycleError, match="not open"):  # the opening has lapsed
        archive.view_sealed(dm1, opening.pk, keyring=ring, now=now())


def test_the_run_is_idempotent_and_a_run_killed_part_way_is_finished_by_the_next(ring, monkeypatch):
    with at(date(2030, 5, 1)):
        people()
        cpids = [born(date(2012, 5, d), given=f"Child{d}") for d in (1, 2, 3)]
    with at(date(2030, 5, 10)):
        real = transitions.archive
        calls = []

        def dies_on_the_second(*args, **kwargs):
            calls.append(1)
            if len(calls) == 2:
                raise KeyboardInterrupt  # kill -INT mid-run
            return real(*args, **kwargs)

        monkeypatch.setattr(transitions, "archive", dies_on_the_second)
        with pytest.raises(KeyboardInterrupt):
            lifecycle_run()
        monkeypatch.setattr(transitions, "archive", real)
        assert sorted(status(c) for c in cpids) == ["archived", "live", "live"]
        left = sorted(c for c in cpids if status(c) == "live")
        assert sorted(lifecycle_run().archived) == left
        again = lifecycle_run()
        assert again.archived == [] and again.sealed == [] and again.deleted == []
        assert AuditEntry.objects.filter(action="lifecycle.archived").count() == 3
        entry = AuditEntry.objects.filter(action="lifecycle.run").order_by("-seq").first()
        assert entry.context["archived"] == 0 and entry.actor == "system:lifecycle"


def test_a_run_missed_for_years_catches_up_with_the_records_own_dates(ring):
    with at(date(2030, 5, 1)):
        people()
        cpid = born(DOB)
    with at(date(2037, 1, 1)):  # the first run since: archived on the birthday, sealed, deleted, in one go
        report = lifecycle_run()
        assert report.archived == [cpid] and report.sealed == [cpid] and report.deleted == [cpid]


def test_the_command_prints_what_it_did(ring, capsys):
    from django.core.management import call_command

    with at(date(2030, 5, 1)):
        people()
        cpid = born(DOB)
    with at(date(2030, 6, 1)):
        call_command("lifecycle", "run", "--today", "2030-05-20")
    out = capsys.readouterr().out
    assert "lifecycle run for 2030-05-20" in out and "archived: 1" in out
    assert status(cpid) == "archived"


def test_the_command_refuses_a_bad_date_with_one_line(ring):
    from django.core.management import call_command
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command("lifecycle", "run", "--today", "20/05/2030")


_ = run
