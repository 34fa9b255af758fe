"""A data manager creates a child by hand (issue 19): through the feeds' own matching first, so that a child who
may already be on ContactPoint goes to the review queue instead of becoming a duplicate, and nothing about that
child is said to the person creating."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contactpoint.audit.models import AuditEntry
from contactpoint.children.models import Child, ChildStatus, HeldRecord, SourceRecord
from contactpoint.children.store import load_record
from contactpoint.errors import PermissionDenied, ValidationError
from contactpoint.ingest import manual
from contactpoint.matching import review
from contactpoint.matching.models import ReviewItem
from contactpoint.vault.keyring import get_keyring
from contactpoint.vault.models import IndexEntry
from tests.canary import repeats
from tests.factories import make_person
from tests.matching.test_review import AMELIA, GP_ROW, NOW, feed, health_org, source
from tests.search.test_service import find

pytestmark = pytest.mark.django_db

ZARA = {"given_name": "Zara", "family_name": "Okonkwo", "gender": "female", "date_of_birth": "2019-04-11",
        "address_line_1": "3 Camden Square", "town": "London", "postcode": "NW1 9XA",
        "carer_1_name": "Ada Okonkwo", "carer_1_relationship": "mother", "carer_1_parental_responsibility": "yes",
        "carer_1_phone": "07700 900456"}


@pytest.fixture
def dana():
    return make_person("dana.data", role="data-manager", org="LA-202", full_name="Dana Data").user


def create(user, values, submission="submission-0001", now=NOW):
    return manual.create_child(user, values, submission=submission, keyring=get_keyring(), now=now)


def test_a_child_no_feed_knows_is_created_with_a_new_id_this_authority_and_its_provenance(dana):
    made = create(dana, ZARA)
    assert made.outcome == manual.Outcome.CREATED and made.cpid and made.reference == made.cpid
    child = Child.objects.get(cpid=made.cpid)
    assert child.status == ChildStatus.LIVE and child.responsible_la == "202"
    record = load_record(get_keyring(), child)
    assert record.name.value.given == "Zara" and record.carers[0].value.name == "Ada Okonkwo"
    assert record.name.provenance.source == "la:202" and record.name.provenance.feed == "created:dana.data"
    assert record.name.provenance.received == NOW.date()
    [stored] = SourceRecord.objects.filter(child=child)
    assert stored.source == "la:202" and stored.source_kind == "la_social_care"
    # Searchable like any other child, and audited.
    assert [h.cpid for h in find(make_person("sam.social").user, family="Okonkwo", birthdate="2019-04-11").hits] \
        == [made.cpid]
    entry = AuditEntry.objects.get(action="record.created")
    assert entry.actor == "dana.data" and entry.subjects == [made.cpid] and entry.context["outcome"] == "created"
    assert "Zara" not in str(entry.context)


def test_a_created_child_that_matches_an_existing_one_goes_to_review_instead(dana):
    gp = source("gp-camden", "gp_registrations", health_org())
    feed(gp, GP_ROW, now=NOW - timedelta(days=1))
    existing = Child.objects.get()
    # The same child typed by hand (no NHS number): the model is sure, and still no second child is made.
    made = create(dana, AMELIA | {"carer_1_parental_responsibility": "yes"})
    assert made.outcome == manual.Outcome.REVIEW and made.cpid is None
    [item] = ReviewItem.objects.all()
    assert made.reference == f"R-{item.pk}" and item.why == review.CREATED_BY_HAND
    assert item.child_b_id == existing.pk and item.responsible_la == "202"
    pending = item.child_a
    assert pending.status == ChildStatus.PENDING and not IndexEntry.objects.filter(child=pending).exists()
    # Nothing about the existing child in what the data manager is told.
    assert existing.cpid not in f"{made.reference} {made.message}" and "Hartley" not in made.message
    assert "review queue" in made.message
    # No practitioner finds two children.
    assert [h.cpid for h in find(make_person("sam.social").user, family="Hartley", birthdate="2015-06-03").hits] \
        == [existing.cpid]
    entry = AuditEntry.objects.get(action="record.created")
    assert entry.context["outcome"] == "review" and existing.cpid in entry.subjects

    # A data manager links them in the review queue: one child, the created record among its sources.
    other = make_person("desmond.data", role="data-manager", org="LA-202").user
    review.decide(other, item.pk, "link", keyring=get_keyring(), now=NOW + timedelta(hours=1))
    pending.refresh_from_db()
    assert pending.status == ChildStatus.MERGED and pending.merged_into_id == existing.pk
    assert SourceRecord.objects.filter(child=existing, source="la:202").exists()
    assert Child.objects.filter(status=ChildStatus.LIVE).count() == 1


def test_kept_apart_the_created_record_becomes_a_live_child_of_its_own(dana):
    feed(source("gp-camden", "gp_registrations", health_org()), GP_ROW, now=NOW - timedelta(days=1))
    made = create(dana, AMELIA | {"given_name": "Amelie"})
    assert made.outcome == manual.Outcome.REVIEW
    item = ReviewItem.objects.get()
    # Four eyes: the one who typed the details may not open the pair (it would show them the other child).
    with pytest.raises(PermissionDenied):
        review.show(dana, item.pk, keyring=get_keyring(), now=NOW)
    with pytest.raises(PermissionDenied):
        review.decide(dana, item.pk, "keep_apart", keyring=get_keyring(), now=NOW)
    other = make_person("desmond.data", role="data-manager", org="LA-202").user
    review.decide(other, item.pk, "keep_apart", keyring=get_keyring(), now=NOW + timedelta(hours=1))
    child = Child.objects.get(pk=item.child_a_id)
    assert child.status == ChildStatus.LIVE and IndexEntry.objects.filter(child=child).exists()


def test_the_same_submission_twice_makes_one_child(dana):
    first, again = create(dana, ZARA), create(dana, ZARA)
    assert again.repeated and again.cpid == first.cpid and Child.objects.count() == 1
    # A new submission of the same child now matches the first: to review, not a duplicate.
    third = create(dana, ZARA, submission="submission-0002")
    assert third.outcome == manual.Outcome.REVIEW
    assert Child.objects.filter(status=ChildStatus.LIVE).count() == 1
    # And a repeated review submission gives the same reference.
    assert create(dana, ZARA, submission="submission-0002").reference == third.reference
    assert ReviewItem.objects.count() == 1


@pytest.mark.parametrize(("changes", "field"), [
    ({"given_name": ""}, "given_name"),
    ({"date_of_birth": "2031-01-01"}, "date_of_birth"),
    ({"date_of_birth": "1990-01-01"}, "date_of_birth"),
    ({"date_of_birth": "2019-02-30"}, "date_of_birth"),
    ({"postcode": "QQ1 2345"}, "postcode"),
    ({"postcode": ""}, "postcode"),
    ({"gender": "boy"}, "gender"),
    ({"nhs_number": "9434765918"}, "nhs_number"),
    ({"upn": "A123456789012"}, "upn"),
    ({"family_name": "1234"}, "family_name"),
])
def test_invalid_details_are_refused_naming_the_field_never_the_value(dana, changes, field):
    with pytest.raises(ValidationError) as refused:
        create(dana, ZARA | changes)
    assert refused.value.field == field
    for value in changes.values():
        if value:
            assert value not in str(refused.value)
    assert not Child.objects.exists()
    assert field in dict(manual.problems(ZARA | changes, today=NOW.date()))


def test_a_practitioner_and_a_bad_submission_reference_are_refused(dana):
    with pytest.raises(PermissionDenied):
        create(make_person("sam.social").user, ZARA)
    with pytest.raises(ValidationError):
        create(dana, ZARA, submission="x")
    assert not Child.objects.exists()


def test_the_command_line_creates_once_and_refuses_a_practitioner(dana, capsys):
    from django.core.management import call_command
    from django.core.management.base import CommandError

    args = [f"--set={k}={v}" for k, v in ZARA.items()]
    call_command("create_child", *args, "--submission", "cli-00000001", "--as", "dana.data")
    call_command("create_child", *args, "--submission", "cli-00000001", "--as", "dana.data")
    out = capsys.readouterr().out.splitlines()
    cpid = Child.objects.get().cpid
    assert out == [f"created  {cpid}", f"created  {cpid} (made before: nothing more was made)"]
    make_person("sam.social")
    with pytest.raises(CommandError):
        call_command("create_child", *args, "--as", "sam.social")
    with pytest.raises(CommandError, match="NAME=VALUE"):
        call_command("create_child", "--set", "shoe_size=3", "--as", "dana.data")
    assert Child.objects.count() == 1


@given(st.dictionaries(st.sampled_from(manual.FIELDS), st.text(alphabet="QXZJ0123456789 -'\u200b\n", max_size=30)))
@settings(max_examples=200, deadline=None)
def test_checking_any_details_never_fails_and_never_repeats_a_value(values):
    found = manual.problems(values, today=NOW.date())
    assert all(field in manual.FIELDS for field, _ in found)
    assert len({field for field, _ in found}) == len(found)
    for _, reason in found:
        for value in values.values():
            if len(value.strip()) >= 4:
                assert not repeats(value.strip(), reason)


def test_a_row_held_for_want_of_a_child_joins_the_child_created_by_hand(dana):
    # A GP row without a date of birth, matching no child: held. The data manager then creates the child.
    gp = source("gp-camden", "gp_registrations", health_org())
    no_birth = {k: v for k, v in GP_ROW.items() if k != "date_of_birth"}
    assert feed(gp, no_birth, now=NOW - timedelta(days=1)).rows_held == 1
    made = create(dana, AMELIA | {"nhs_number": "9434765919"})
    assert made.outcome == manual.Outcome.CREATED
    child = Child.objects.get(cpid=made.cpid)
    assert not HeldRecord.objects.exists()
    assert set(SourceRecord.objects.filter(child=child).values_list("source", flat=True)) == {"la:202", gp.code}
