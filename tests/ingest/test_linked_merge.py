"""Two children already in the index that a new record shows to be one: the feeds merge them on their own when
no person has acted on either (the review queue is for what a person can add), as a data manager's link does,
audited, and reversible from the review history; once a person has acted on either, the pair is queued."""

from __future__ import annotations

from datetime import timedelta

import pytest

from contactpoint.audit.models import AuditEntry
from contactpoint.children.models import Child, ChildStatus
from contactpoint.children.store import load_record
from contactpoint.ingest.batch import PIPELINE
from contactpoint.matching import review
from contactpoint.matching.models import Label, Merge, ReviewItem
from contactpoint.vault.keyring import get_keyring
from tests.factories import vouched_org
from tests.matching.test_review import (
    AMELIA,
    GP_ROW,
    NOW,
    data_manager,
    feed,
    health_org,
    records_of,
    source,
    tokens_of,
)

pytestmark = pytest.mark.django_db

UPN = "A202200015017"
# The school knows Amelia by her new family name, at her new home, with her UPN and without her NHS number: too
# little in common with the GP's record to link them.
SCHOOL_ROW = AMELIA | {"source_record_id": "S-1", "family_name": "Okafor", "upn": UPN,
                       "address_line_1": "3 Kings Road", "town": "Leeds", "postcode": "LS6 2AB",
                       "carer_1_name": "", "carer_1_relationship": "", "carer_1_phone": "",
                       "setting_urn": "100001", "setting_name": "Kings Road Primary"}
# The local authority's record carries both identifiers: it is one child.
LA_ROW = AMELIA | {"source_record_id": "LA-1", "nhs_number": GP_ROW["nhs_number"], "upn": UPN}


def two_children_then_the_record_that_joins_them():
    gp = source("gp-camden", "gp_registrations", health_org())
    authority = vouched_org()
    school = source("kings-road", "school_census", authority)
    la = source("la-202", "la_social_care", authority)
    feed(gp, GP_ROW, now=NOW - timedelta(days=2))
    feed(school, SCHOOL_ROW, now=NOW - timedelta(days=1))
    return la


def test_two_children_no_one_has_acted_on_are_merged_when_a_new_record_links_both():
    la = two_children_then_the_record_that_joins_them()
    gp_child, school_child = Child.objects.order_by("created_at", "id")
    assert not ReviewItem.objects.exists()

    run = feed(la, LA_ROW)

    assert (run.children_merged, run.reviews_queued, run.children_created) == (1, 0, 0)
    [live] = Child.objects.filter(status=ChildStatus.LIVE)
    assert live.pk == gp_child.pk  # the older record survives, keeping the ContactPoint ID known longest
    assert Child.objects.get(pk=school_child.pk).merged_into_id == gp_child.pk
    assert len(records_of(live)) == 3
    record = load_record(get_keyring(), live)
    assert (record.upn.value, record.nhs_number.value) == (UPN, GP_ROW["nhs_number"])
    # Nothing for a person to decide: the item is kept, decided, to say why the two became one.
    [item] = ReviewItem.objects.all()
    assert (item.status, item.decided_by) == (ReviewItem.Status.LINKED, PIPELINE)
    assert review.queue(data_manager()).count == 0
    merged = AuditEntry.objects.get(action="match.merged")
    assert merged.actor.endswith("la-202") and merged.subjects == [gp_child.cpid, school_child.cpid]
    assert merged.context["automatic"] is True and merged.context["run"] == run.id
    assert not Label.objects.exists()  # the model learns from people's decisions only


def test_a_data_manager_splits_an_automatic_merge_from_the_history_and_it_is_not_made_again():
    la = two_children_then_the_record_that_joins_them()
    ring = get_keyring()
    school_child = Child.objects.order_by("created_at", "id").last()
    before = (load_record(ring, school_child), records_of(school_child), tokens_of(school_child))
    feed(la, LA_ROW)
    dana = data_manager()
    count, [entry] = review.history(dana)
    assert count == 1 and entry.can_split and entry.decided_by == PIPELINE

    review.split(dana, entry.merge_id, note="Two children: the school has checked.", keyring=ring,
                 now=NOW + timedelta(hours=1))

    school_child.refresh_from_db()
    assert school_child.status == ChildStatus.LIVE
    assert (load_record(ring, school_child), records_of(school_child), tokens_of(school_child)) == before
    assert Merge.objects.get().undone_by == "dana.data"
    assert list(Label.objects.values_list("is_match", flat=True)) == [False]
    # The LA sends another record joining the two: a person has decided, so it is theirs to weigh again.
    run = feed(la, LA_ROW | {"source_record_id": "LA-2"}, now=NOW + timedelta(days=1))
    assert run.children_merged == 0
    assert Child.objects.filter(status=ChildStatus.LIVE).count() == 2


def test_a_shielded_child_is_never_merged_automatically_the_pair_is_queued():
    la = two_children_then_the_record_that_joins_them()
    school_child = Child.objects.order_by("created_at", "id").last()
    Child.objects.filter(pk=school_child.pk).update(shielded=True)

    run = feed(la, LA_ROW)

    assert (run.children_merged, run.reviews_queued) == (0, 1)
    [item] = ReviewItem.objects.all()
    assert item.status == ReviewItem.Status.OPEN and item.why == "a new record links two children already in the index"
    assert Child.objects.filter(status=ChildStatus.LIVE).count() == 2
    assert not Merge.objects.exists()


def test_a_child_a_data_manager_has_kept_apart_from_another_is_not_merged_automatically():
    la = two_children_then_the_record_that_joins_them()
    gp_child, school_child = Child.objects.order_by("created_at", "id")
    # An earlier pair with another child, kept apart by a data manager.
    other = source("gp-leeds", "gp_registrations", health_org("GP-B86001", "Leeds Health Centre"))
    feed(other, GP_ROW | {"source_record_id": "GP-9", "nhs_number": "4010232137"}, now=NOW - timedelta(hours=5))
    [earlier] = ReviewItem.objects.filter(status=ReviewItem.Status.OPEN)
    review.decide(data_manager(), earlier.pk, review.Decision.KEEP_APART, keyring=get_keyring(),
                  now=NOW - timedelta(hours=4))

    run = feed(la, LA_ROW)

    assert (run.children_merged, run.reviews_queued) == (0, 1)
    assert Child.objects.get(pk=school_child.pk).status == ChildStatus.LIVE
    assert Child.objects.get(pk=gp_child.pk).status == ChildStatus.LIVE


def test_records_that_link_a_to_b_and_b_to_c_in_one_batch_make_the_three_one_child():
    la = two_children_then_the_record_that_joins_them()
    health = source("bristol-health", "health", health_org("HT-1", "Bristol Health"))
    uln = "1234567899"
    # A third child: the same girl as a training provider's health record knows her, by her ULN only.
    feed(health, AMELIA | {"source_record_id": "H-1", "family_name": "Mensah", "uln": uln,
                           "address_line_1": "9 Park Row", "town": "Bristol", "postcode": "BS1 5LJ",
                           "carer_1_name": "", "carer_1_relationship": "", "carer_1_phone": ""},
         now=NOW - timedelta(hours=12))
    assert Child.objects.filter(status=ChildStatus.LIVE).count() == 3

    run = feed(la, LA_ROW, LA_ROW | {"source_record_id": "LA-2", "nhs_number": "", "uln": uln})

    [live] = Child.objects.filter(status=ChildStatus.LIVE)
    assert run.children_merged == 2 and run.reviews_queued == 0
    assert len(records_of(live)) == 5
    assert not ReviewItem.objects.filter(status=ReviewItem.Status.OPEN).exists()


def test_a_pair_whose_child_was_merged_earlier_in_the_batch_is_followed_to_the_child_it_became():
    from contactpoint.access.models import SourceSystem
    from contactpoint.ingest.batch import Batch, BatchResult

    la = two_children_then_the_record_that_joins_them()
    health = source("bristol-health", "health", health_org("HT-1", "Bristol Health"))
    # The merging alone is tried here: the third child need not look like the others.
    feed(health, {"source_record_id": "H-1", "given_name": "Zara", "family_name": "Mensah", "uln": "1234567899",
                  "date_of_birth": "2012-02-20", "postcode": "BS1 5LJ"}, now=NOW - timedelta(hours=12))
    a, b, c = Child.objects.order_by("created_at", "id")
    decided = {"status": ReviewItem.Status.LINKED, "decided_by": PIPELINE, "decided_at": NOW, "created_at": NOW,
               "probability": 0.99, "why": "a new record links two children already in the index",
               "responsible_la": "202", "record_a": "x", "record_b": "y"}
    # B into A first; then B with C, B being part of A by then.
    items = [ReviewItem.objects.create(child_a=a, child_b=b, **decided),
             ReviewItem.objects.create(child_a=b, child_b=c, **decided)]
    result = BatchResult()
    batch = Batch(SourceSystem.objects.select_related("organisation").get(pk=la.pk), keyring=get_keyring(),
                  now=NOW, run_id="r")

    batch._merge_linked(items, result)

    assert len(result.merged) == 2 and result.reviews == 0
    [live] = Child.objects.filter(status=ChildStatus.LIVE)
    assert live.pk == a.pk and len(records_of(live)) == 3


def test_a_merge_that_fails_goes_to_a_person_and_the_feed_still_completes(monkeypatch):
    la = two_children_then_the_record_that_joins_them()
    from contactpoint.errors import VaultError
    from contactpoint.matching import merging

    def cannot_open(*args, **kwargs):
        raise VaultError()  # a record that cannot be opened, half-way through the merge

    monkeypatch.setattr(merging, "merge_children", cannot_open)
    run = feed(la, LA_ROW)

    assert run.status == "completed" and (run.children_merged, run.reviews_queued) == (0, 1)
    assert Child.objects.filter(status=ChildStatus.LIVE).count() == 2
    [item] = ReviewItem.objects.all()
    assert item.status == ReviewItem.Status.OPEN and review.queue(data_manager()).count == 1
    assert not AuditEntry.objects.filter(action="match.merged").exists()


def test_a_pair_a_person_kept_apart_while_the_batch_ran_is_not_merged(monkeypatch):
    la = two_children_then_the_record_that_joins_them()
    gp_child, school_child = Child.objects.order_by("created_at", "id")
    from contactpoint.ingest import batch as batches

    looked = batches.Batch._untouched

    def a_person_acts_meanwhile(ids, children):
        found = looked(ids, children)
        if not ReviewItem.objects.filter(status=ReviewItem.Status.KEPT_APART).exists():
            # Between the batch's look and its lock, a data manager keeps the two apart.
            ReviewItem.objects.create(child_a_id=gp_child.pk, child_b_id=school_child.pk, record_a="a", record_b="b",
                                      probability=0.7, evidence={}, why="the model is unsure", responsible_la="202",
                                      created_at=NOW, status=ReviewItem.Status.KEPT_APART, decided_at=NOW,
                                      decided_by="dan.data")
        return found

    monkeypatch.setattr(batches.Batch, "_untouched", staticmethod(a_person_acts_meanwhile))
    run = feed(la, LA_ROW)

    assert run.children_merged == 0 and Child.objects.filter(status=ChildStatus.LIVE).count() == 2


# Maisie: the GP knows her at her old home; child benefit at the new one, her date of birth mistyped (2012 for
# 2018), too unlike the GP's to link; the school at the new home with the right date.
MAISIE = {"given_name": "Maisie", "family_name": "Wood", "gender": "female", "date_of_birth": "2018-06-06",
          "address_line_1": "63 Janice Close", "town": "London", "postcode": "WC1H 0LN", "whereabouts": "current",
          "carer_1_name": "Melanie Wood", "carer_1_relationship": "mother", "carer_1_phone": "07700 900968"}
MAISIE_GP = MAISIE | {"source_record_id": "GP-2", "nhs_number": "4763376128", "address_line_1": "178 Yates Rise",
                      "postcode": "NW1 3LE", "carer_1_name": "", "carer_1_relationship": "", "carer_1_phone": ""}
MAISIE_BENEFIT = MAISIE | {"source_record_id": "CHB-2", "date_of_birth": "2012-06-06"}
MAISIE_SCHOOL = MAISIE | {"source_record_id": "S-2", "upn": "P202200022007"}


def test_a_record_at_a_new_home_finds_a_child_already_there_as_well_as_the_one_it_joins():
    """The school's record found the GP's child by its date of birth, and was never compared with the child
    benefit record's child at its new home: only a record that found no child looked at its postcode. Two
    children stayed, with nothing to say so, where a first load made one. Now a record joining a child that holds
    none of its postcode looks there too, and the two children no one has acted on are merged."""
    gp = source("gp-camden", "gp_registrations", health_org())
    benefit = source("hmrc-cb", "child_benefit", vouched_org("HMRC", "HM Revenue and Customs", "benefits"))
    school = source("kings-road", "school_census", vouched_org())
    feed(gp, MAISIE_GP, now=NOW - timedelta(days=2))
    feed(benefit, MAISIE_BENEFIT, now=NOW - timedelta(days=1))
    assert Child.objects.filter(status=ChildStatus.LIVE).count() == 2 and not ReviewItem.objects.exists()

    run = feed(school, MAISIE_SCHOOL)

    assert (run.children_merged, run.reviews_queued) == (1, 0)
    [live] = Child.objects.filter(status=ChildStatus.LIVE)
    assert len(records_of(live)) == 3


# Gillian: the GP knows her by her new family name; child benefit by the old one at the same house (its postcode
# mistyped): the model is unsure, and a person is asked. Then the school, her old name, the house and postcode.
GILLIAN = {"given_name": "Gillian", "family_name": "Pritchard", "gender": "female", "date_of_birth": "2017-04-20",
           "address_line_1": "119 Walker Mews", "town": "London", "postcode": "N6 5HG", "whereabouts": "current"}
GILLIAN_GP = GILLIAN | {"source_record_id": "GP-3", "family_name": "Howard", "nhs_number": "6248088055"}
GILLIAN_BENEFIT = GILLIAN | {"source_record_id": "CHB-3", "postcode": "N6 5GH", "carer_1_name": "Samantha Goncalves",
                             "carer_1_relationship": "mother", "carer_1_phone": "07700 900568"}
GILLIAN_SCHOOL = GILLIAN | {"source_record_id": "S-3", "upn": "W202200021012", "carer_1_name": "Samantha Goncalves",
                            "carer_1_relationship": "mother", "carer_1_phone": "07700 900568"}


def test_an_open_item_a_new_record_answers_is_merged_as_a_new_pair_would_be():
    """The school's record joins both children as surely as a record that would merge them: the item waiting
    between them was left open (a pair open already is not asked again), and two children stayed where a first
    load, seeing the three records at once, made one. Now the pipeline decides the open item, as it would a new
    one, and a data manager can split it from the history."""
    gp = source("gp-camden", "gp_registrations", health_org())
    benefit = source("hmrc-cb", "child_benefit", vouched_org("HMRC", "HM Revenue and Customs", "benefits"))
    school = source("kings-road", "school_census", vouched_org())
    feed(gp, GILLIAN_GP, now=NOW - timedelta(days=2))
    feed(benefit, GILLIAN_BENEFIT, now=NOW - timedelta(days=1))
    [waiting] = ReviewItem.objects.all()
    assert waiting.status == ReviewItem.Status.OPEN

    run = feed(school, GILLIAN_SCHOOL)

    assert (run.children_merged, run.reviews_queued) == (1, 0)
    [live] = Child.objects.filter(status=ChildStatus.LIVE)
    assert len(records_of(live)) == 3
    waiting.refresh_from_db()
    assert (waiting.status, waiting.decided_by) == (ReviewItem.Status.LINKED, PIPELINE)
    count, [entry] = review.history(data_manager())
    assert count == 1 and entry.can_split and entry.decided_by == PIPELINE
