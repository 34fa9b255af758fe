"""The review queue: data managers link, keep apart or defer the pairs the match model could not settle; merges
and splits are reversible; every decision is audited and kept as a label (DESIGN.md section 1 "Accuracy").

Pairs reach the queue the way they do in production: two sources send records the feeds pipeline will not link
on its own (here, the same name, date of birth, home and mother, but two different NHS numbers)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta

import pytest

from contactpoint.access.models import Organisation
from contactpoint.access.sources import register_source
from contactpoint.audit.models import AuditEntry
from contactpoint.audit.trail import read_detail
from contactpoint.children.models import Child, ChildStatus, SourceRecord
from contactpoint.children.store import load_record
from contactpoint.errors import NotFound, PermissionDenied, ReviewRefused, ValidationError
from contactpoint.ingest.run import ingest
from contactpoint.matching import review
from contactpoint.matching.models import Label, Merge, ReviewDecision, ReviewItem
from contactpoint.matching.review import Decision, Show
from contactpoint.synthetic.writer import FEED_COLUMNS
from contactpoint.vault.keyring import get_keyring
from contactpoint.vault.models import IndexEntry
from tests.factories import make_person, vouched_org

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 24, 10, 30, tzinfo=UTC)

AMELIA = {"given_name": "Amelia", "family_name": "Hartley", "gender": "female", "date_of_birth": "2015-06-03",
          "address_line_1": "12 Agar Grove", "town": "London", "postcode": "NW1 8NP", "whereabouts": "current",
          "carer_1_name": "Sarah Hartley", "carer_1_relationship": "mother", "carer_1_phone": "07700 900123"}
GP_ROW = AMELIA | {"source_record_id": "GP-1", "nhs_number": "9434765919", "gp_practice_code": "F83004",
                   "gp_practice_name": "Camden Health Centre"}
# The same child as the school knows her, with an NHS number that is not hers: the feeds refuse to link them.
SCHOOL_ROW = AMELIA | {"source_record_id": "S-1", "nhs_number": "4010232137", "setting_urn": "100001",
                       "setting_name": "Agar Grove Primary"}


# --- helpers shared with the page tests ------------------------------------------------------------------------


def csv_bytes(rows: list[dict[str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=FEED_COLUMNS)
    writer.writeheader()
    for row in rows:
        writer.writerow({c: row.get(c, "") for c in FEED_COLUMNS})
    return out.getvalue().encode()


def source(code: str, kind: str, organisation: Organisation):
    return register_source(None, code=code, name=code, kind=kind, organisation=organisation, now=NOW,
                           keyring=get_keyring())


def feed(src, *rows: dict[str, str], now: datetime = NOW, mode: str = "delta"):
    return ingest(src, csv_bytes(list(rows)), fmt="csv", mode=mode, keyring=get_keyring(), now=now).run


def health_org(code: str = "GP-F83004", name: str = "Camden Health Centre"):
    return vouched_org(code, name, "health")


def queued_pair(gp_row: dict = GP_ROW, school_row: dict = SCHOOL_ROW) -> ReviewItem:
    """Two children in the index who may be one, and the review item between them."""
    gp = source("gp-camden", "gp_registrations", health_org())
    school = source("agar-grove", "school_census", vouched_org())
    feed(gp, gp_row, now=NOW - timedelta(days=1))
    feed(school, school_row)
    [item] = ReviewItem.objects.all()
    return item


def child_of(source_code: str) -> Child:
    return Child.objects.get(source_records__source=source_code, status=ChildStatus.LIVE)


def data_manager(username: str = "dana.data", org: str = "LA-202"):
    return make_person(username, role="data-manager", org=org).user


def records_of(child: Child) -> list[str]:
    return sorted(SourceRecord.objects.filter(child=child).values_list("record_key", flat=True))


def tokens_of(child: Child) -> set[int]:
    return set(IndexEntry.objects.filter(child_id=child.pk).values_list("token", flat=True))


def actions() -> list[str]:
    return list(AuditEntry.objects.order_by("seq").values_list("action", flat=True))


# --- the queue -------------------------------------------------------------------------------------------------


def test_the_feeds_queue_a_pair_with_different_nhs_numbers_for_the_childs_authority():
    item = queued_pair()
    assert item.why == "different NHS numbers" and item.status == ReviewItem.Status.OPEN
    assert {item.child_a.responsible_la, item.child_b.responsible_la} == {"202"}


def test_the_queue_lists_the_authoritys_pairs_oldest_first_with_ids_and_reasons_only():
    item = queued_pair()
    dana = data_manager()
    listed = review.queue(dana)
    assert listed.count == 1 and listed.whys == ["different NHS numbers"]
    [entry] = listed.entries
    assert (entry.id, entry.cpid_a, entry.cpid_b) == (item.pk, item.child_a.cpid, item.child_b.cpid)
    assert review.queue(dana, show=Show.DECIDED).count == 0
    assert review.queue(dana, why="the model is unsure").count == 0
    # Listing decrypts nothing and is not a view of anyone's record.
    assert "match.review.opened" not in actions()


def test_older_pairs_come_first():
    first = queued_pair()
    later = ReviewItem.objects.create(child_a=first.child_b, child_b=first.child_a, record_a=first.record_b,
                                      record_b=first.record_a, probability=0.6, why="the model is unsure",
                                      responsible_la="202", created_at=NOW - timedelta(days=3))
    assert [e.id for e in review.queue(data_manager()).entries] == [later.pk, first.pk]


def test_another_authoritys_data_manager_neither_lists_nor_opens_the_pair():
    item = queued_pair()
    other = data_manager("olu.other", org="LA-201")
    assert review.queue(other).count == 0
    with pytest.raises(NotFound):
        review.show(other, item.pk, keyring=get_keyring(), now=NOW)
    with pytest.raises(NotFound):
        review.decide(other, item.pk, Decision.LINK, keyring=get_keyring(), now=NOW)


def test_only_data_managers_review_matches():
    queued_pair()
    practitioner = make_person().user
    with pytest.raises(PermissionDenied):
        review.queue(practitioner)


# --- a pair, side by side --------------------------------------------------------------------------------------


def test_a_pair_shows_both_records_with_splinks_evidence_and_opening_it_is_audited():
    item = queued_pair()
    pair = review.show(data_manager(), item.pk, keyring=get_keyring(), now=NOW)
    assert pair.pending and {pair.a.cpid, pair.b.cpid} == {item.child_a.cpid, item.child_b.cpid}
    for side in (pair.a, pair.b):
        assert side.view.record.name.value.display == "Amelia Hartley" and not side.withheld
    assert {pair.a.sources, pair.b.sources} == {("gp-camden",), ("agar-grove",)}
    levels = {row.comparison: (row.level, row.weight) for row in pair.evidence.rows}
    assert levels["NHS number"][0] == "different" and levels["NHS number"][1] < 0
    assert levels["Date of birth"][0] == "exact" and levels["Date of birth"][1] > 0
    assert levels["Home and carers"][0] == "same home, a carer in common"
    assert pair.evidence.total_weight == pytest.approx(pair.evidence.prior_weight
                                                       + sum(r.weight for r in pair.evidence.rows), abs=0.05)
    entry = AuditEntry.objects.get(action="match.review.opened")
    assert sorted(entry.subjects) == sorted([pair.a.cpid, pair.b.cpid]) and entry.actor == "dana.data"


# --- deciding --------------------------------------------------------------------------------------------------


def test_linking_merges_the_two_children_into_the_older_record_and_the_other_id_resolves_to_it():
    item = queued_pair()
    survivor, absorbed = child_of("gp-camden"), child_of("agar-grove")  # the GP's record is the older
    moved = records_of(absorbed)
    review.decide(data_manager(), item.pk, Decision.LINK, keyring=get_keyring(), now=NOW)

    absorbed.refresh_from_db()
    assert absorbed.status == ChildStatus.MERGED and absorbed.merged_into_id == survivor.pk
    assert review.current_cpid(absorbed.cpid) == survivor.cpid
    assert records_of(survivor) == sorted([*records_of(survivor)]) and set(moved) <= set(records_of(survivor))
    assert not tokens_of(absorbed)  # out of every search
    record = load_record(get_keyring(), Child.objects.get(pk=survivor.pk))
    assert sorted(s.source for s in record.source_ids) == ["agar-grove", "gp-camden"]
    assert record.education is not None and record.gp is not None  # the school's and the GP's details together
    item.refresh_from_db()
    assert item.status == ReviewItem.Status.LINKED and item.decided_by == "dana.data"
    label = Label.objects.get()
    assert (label.record_a, label.record_b, label.is_match) == (item.record_a, item.record_b, True)
    assert actions()[-2:] == ["match.merged", "match.review.decided"]
    merged = AuditEntry.objects.get(action="match.merged")
    assert merged.context["survivor"] == survivor.cpid and merged.context["absorbed"] == absorbed.cpid


def test_the_merged_childs_disagreeing_nhs_number_goes_back_to_the_less_trusted_source():
    item = queued_pair()
    review.decide(data_manager(), item.pk, Decision.LINK, keyring=get_keyring(), now=NOW)
    from contactpoint.bestview.models import Discrepancy

    [open_item] = Discrepancy.objects.filter(closed_at__isnull=True)
    assert (open_item.source, open_item.field) == ("agar-grove", "nhs_number")
    assert open_item.child_id == Merge.objects.get().survivor_id


def test_merge_then_split_restores_both_records_their_ids_and_their_search_entries_exactly():
    item = queued_pair()
    ring = get_keyring()
    a, b = item.child_a, item.child_b
    before = {c.cpid: (load_record(ring, c), records_of(c), tokens_of(c), c.responsible_la, c.shielded)
              for c in (a, b)}
    dana = data_manager()
    review.decide(dana, item.pk, Decision.LINK, keyring=ring, now=NOW)
    merge = Merge.objects.get()
    review.split(dana, merge.pk, note="The school confirmed these are cousins.", keyring=ring,
                 now=NOW + timedelta(hours=1))

    for child in Child.objects.filter(pk__in=(a.pk, b.pk)):
        assert child.status == ChildStatus.LIVE and child.merged_into_id is None
        assert (load_record(ring, child), records_of(child), tokens_of(child), child.responsible_la,
                child.shielded) == before[child.cpid]
    merge.refresh_from_db()
    assert merge.undone_by == "dana.data" and merge.undone_at is not None
    item.refresh_from_db()
    assert item.status == ReviewItem.Status.KEPT_APART
    assert list(Label.objects.order_by("id").values_list("is_match", flat=True)) == [True, False]
    assert actions()[-1] == "match.split"
    split = AuditEntry.objects.get(action="match.split")
    assert read_detail(ring, split) == {"note": "The school confirmed these are cousins."}
    with pytest.raises(ReviewRefused):
        review.split(dana, merge.pk, keyring=ring, now=NOW)


def test_a_split_moves_back_a_record_changed_since_the_merge_and_rebuilds_that_child():
    item = queued_pair()
    ring = get_keyring()
    dana = data_manager()
    review.decide(dana, item.pk, Decision.LINK, keyring=ring, now=NOW)
    from contactpoint.access.models import SourceSystem

    merge = Merge.objects.get()
    feed(SourceSystem.objects.get(code="agar-grove"), SCHOOL_ROW | {"given_name": "Amelie"},
         now=NOW + timedelta(days=1))
    review.split(dana, merge.pk, keyring=ring, now=NOW + timedelta(days=2))
    assert load_record(ring, Child.objects.get(pk=merge.absorbed_id)).name.value.given == "Amelie"
    assert load_record(ring, Child.objects.get(pk=merge.survivor_id)).name.value.given == "Amelia"


def test_keeping_apart_is_a_label_and_the_pair_is_never_queued_again():
    item = queued_pair()
    review.decide(data_manager(), item.pk, Decision.KEEP_APART, keyring=get_keyring(), now=NOW)
    item.refresh_from_db()
    assert item.status == ReviewItem.Status.KEPT_APART
    assert Label.objects.get().is_match is False
    # The school sends the child again under a new record: it joins the school's child and would link the two
    # children again, but the pair was kept apart.
    from contactpoint.access.models import SourceSystem

    feed(SourceSystem.objects.get(code="agar-grove"), SCHOOL_ROW | {"source_record_id": "S-2"},
         now=NOW + timedelta(days=1))
    assert ReviewItem.objects.count() == 1
    assert Child.objects.filter(status=ChildStatus.LIVE).count() == 2


def test_deferring_needs_a_note_keeps_the_pair_in_the_queue_and_keeps_the_note_sealed():
    item = queued_pair()
    dana = data_manager()
    with pytest.raises(ValidationError) as refused:
        review.decide(dana, item.pk, Decision.DEFER, note="  ", keyring=get_keyring(), now=NOW)
    assert refused.value.field == "note"
    note = "Asked the GP practice whether Amelia Hartley has two NHS numbers."
    review.decide(dana, item.pk, Decision.DEFER, note=note, keyring=get_keyring(), now=NOW)
    assert [e.id for e in review.queue(dana).entries] == [item.pk]
    assert review.queue(dana, show=Show.DEFERRED).count == 1
    stored = ReviewDecision.objects.get()
    assert b"Hartley" not in bytes(stored.note) and stored.kind == "defer"
    assert not Label.objects.exists()
    pair = review.show(dana, item.pk, keyring=get_keyring(), now=NOW)
    assert [(d.kind, d.note, d.decided_by) for d in pair.decisions] == [("defer", note, "dana.data")]
    decided = AuditEntry.objects.get(action="match.review.decided")
    assert "Hartley" not in str(decided.context) and read_detail(get_keyring(), decided) == {"note": note}
    # A deferred pair can still be decided.
    review.decide(dana, item.pk, Decision.KEEP_APART, keyring=get_keyring(), now=NOW)
    assert [e.kind for e in review.history(dana)[1]] == ["keep_apart", "defer"]


def test_a_decided_pair_cannot_be_decided_again():
    item = queued_pair()
    dana = data_manager()
    review.decide(dana, item.pk, "keep_apart", keyring=get_keyring(), now=NOW)
    with pytest.raises(ReviewRefused, match="already been decided"):
        review.decide(dana, item.pk, "link", keyring=get_keyring(), now=NOW)
    with pytest.raises(ValidationError):
        review.decide(dana, item.pk, "maybe", keyring=get_keyring(), now=NOW)


def test_a_record_archived_meanwhile_cannot_be_linked():
    item = queued_pair()
    Child.objects.filter(pk=item.child_b_id).update(status=ChildStatus.ARCHIVED)
    with pytest.raises(ReviewRefused, match="no longer live"):
        review.decide(data_manager(), item.pk, Decision.LINK, keyring=get_keyring(), now=NOW)
    assert ReviewItem.objects.get().status == ReviewItem.Status.OPEN  # nothing half-done


# --- shielding and scope across authorities --------------------------------------------------------------------

# A GP in the City of London (LA 201) holds a child who lives there; Camden's GP holds a child with the same name,
# date of birth and mother. The City's child is shielded.
CITY_ROW = AMELIA | {"source_record_id": "GP-9", "nhs_number": "4010232137", "address_line_1": "1 Long Lane",
                     "postcode": "EC1Y 8NX", "gp_practice_code": "F00001", "gp_practice_name": "Barbican Surgery"}


def cross_border_pair() -> ReviewItem:
    camden = source("gp-camden", "gp_registrations", health_org())
    city = source("gp-city", "gp_registrations", health_org("GP-F00001", "Barbican Surgery"))
    feed(camden, GP_ROW, now=NOW - timedelta(days=1))
    feed(city, CITY_ROW)
    [item] = ReviewItem.objects.all()
    return item


def test_a_pair_across_two_authorities_is_in_both_queues_and_a_shielded_childs_whereabouts_only_in_its_own():
    item = cross_border_pair()
    city_child = Child.objects.get(responsible_la="201")
    Child.objects.filter(pk=city_child.pk).update(shielded=True)
    camden, city = data_manager(), data_manager("cal.city", org="LA-201")
    assert review.queue(camden).count == 1 and review.queue(city).count == 1

    pair = review.show(camden, item.pk, keyring=get_keyring(), now=NOW)
    hidden = pair.a if pair.a.cpid == city_child.cpid else pair.b
    assert hidden.withheld and hidden.sources == ()
    record = hidden.view.record
    assert record.name.value.display == "Amelia Hartley"  # visible even when shielded
    assert record.whereabouts is None and record.gp is None and record.nhs_number is None
    assert all(c.value.phone == "" for c in record.carers)
    assert "EC1Y" not in repr(pair) and "Long Lane" not in repr(pair) and "Barbican" not in repr(pair)
    assert AuditEntry.objects.get(action="match.review.opened").context["withheld"] == [city_child.cpid]

    own = review.show(city, item.pk, keyring=get_keyring(), now=NOW)
    mine = own.a if own.a.cpid == city_child.cpid else own.b
    assert not mine.withheld and mine.view.record.whereabouts.value.address.postcode == "EC1Y 8NX"


def test_the_evidence_never_compares_a_withheld_childs_whereabouts_or_identifiers():
    """"Same home" beside the other child's address would say where the shielded child lives."""
    item = cross_border_pair()
    city_child = Child.objects.get(responsible_la="201")
    Child.objects.filter(pk=city_child.pk).update(shielded=True)
    camden, city = data_manager(), data_manager("cal.city", org="LA-201")

    pair = review.show(camden, item.pk, keyring=get_keyring(), now=NOW)
    shown = {row.comparison for row in pair.evidence.rows}
    assert shown and not shown & {"Home and carers", "NHS number", "Unique pupil number", "Unique learner number"}
    assert pair.evidence.probability is None and "NHS" not in pair.why
    evidence = pair.evidence
    assert evidence.total_weight == round(evidence.prior_weight + sum(r.weight for r in evidence.rows), 2)

    own = review.show(city, item.pk, keyring=get_keyring(), now=NOW)  # its own authority sees it all
    assert "Home and carers" in {row.comparison for row in own.evidence.rows} and own.evidence.probability is not None


def test_a_merge_with_a_shielded_child_is_shielded_and_a_split_puts_shielding_back_as_it_was():
    item = cross_border_pair()
    city_child = Child.objects.get(responsible_la="201")
    Child.objects.filter(pk=city_child.pk).update(shielded=True)
    city = data_manager("cal.city", org="LA-201")
    review.decide(city, item.pk, Decision.LINK, keyring=get_keyring(), now=NOW)
    merge = Merge.objects.get()
    assert merge.absorbed_id == city_child.pk
    assert Child.objects.get(pk=merge.survivor_id).shielded  # protection is never lost by a merge
    review.split(city, merge.pk, keyring=get_keyring(), now=NOW)
    assert not Child.objects.get(pk=merge.survivor_id).shielded
    assert Child.objects.get(pk=city_child.pk).shielded


# --- labels for the model --------------------------------------------------------------------------------------


def test_linked_pairs_are_training_data_for_the_model_built_in_memory():
    item = queued_pair()
    review.decide(data_manager(), item.pk, Decision.LINK, keyring=get_keyring(), now=NOW)
    profiles, pairs = review.labelled_training_data(get_keyring())
    assert pairs == [tuple(sorted((item.record_a, item.record_b)))]
    assert {p["unique_id"] for p in profiles} == {item.record_a, item.record_b}
    assert {p["nhs_number"] for p in profiles} == {"9434765919", "4010232137"}


# --- contactpoint review ---------------------------------------------------------------------------------------


def cli(*args: str) -> str:
    from django.core.management import call_command

    out = io.StringIO()
    call_command("review", *args, stdout=out)
    return out.getvalue()


def test_the_command_lists_shows_and_decides_as_a_named_data_manager():
    item = queued_pair()
    data_manager()
    listed = cli("list", "--as", "dana.data")
    assert listed.startswith("1 pair(s) (pending)") and item.child_a.cpid in listed and "Hartley" not in listed
    shown = cli("show", str(item.pk), "--as", "dana.data")
    assert shown.count("Amelia Hartley") == 2 and "NHS number" in shown and "different" in shown
    assert AuditEntry.objects.get(action="match.review.opened").actor == "dana.data"
    assert cli("defer", str(item.pk), "--as", "dana.data", "--note", "waiting for the GP") == \
        f"pair {item.pk} deferred\n"
    merged = cli("link", str(item.pk), "--as", "dana.data")
    merge = Merge.objects.get()
    assert merged == f"pair {item.pk} linked (merge {merge.pk})\n"
    assert "split merge" in cli("split", str(merge.pk), "--as", "dana.data")
    assert "waiting for the GP" in cli("show", str(item.pk), "--as", "dana.data")


def test_the_command_refuses_with_one_line_an_unknown_user_a_lapsed_one_or_another_authoritys_item():
    from django.core.management.base import CommandError

    item = queued_pair()
    with pytest.raises(CommandError, match="no user 'nobody'"):
        cli("list", "--as", "nobody")
    other = data_manager("olu.other", org="LA-201")
    with pytest.raises(CommandError, match="no review item with that number"):
        cli("apart", str(item.pk), "--as", "olu.other")
    with pytest.raises(CommandError, match="Your role does not include reviewing matches"):
        make_person("sam.social")
        cli("list", "--as", "sam.social")
    other.clearance_date = NOW.date() - timedelta(days=4 * 365)
    other.save()
    with pytest.raises(CommandError, match="clearance"):
        cli("list", "--as", "olu.other")
    with pytest.raises(CommandError):
        cli("defer", str(item.pk), "--as", "dana.data")  # a deferral needs its note


def test_match_training_averages_in_the_m_probabilities_of_enough_linked_pairs(tmp_path):
    from django.core.management import call_command

    from contactpoint.ingest.profiles import profiles_of
    from contactpoint.matching.train import MIN_LABELLED_PAIRS, train

    call_command("generate", "--children", "300", "--seed", "7", "--out", str(tmp_path), "--today", "2026-11-24",
                 stdout=io.StringIO())
    profiles = profiles_of(tmp_path, today=date(2026, 11, 24))
    # Stand-ins for what labelled_training_data returns: records under their own IDs, and the linked pairs.
    groups = [(p | {"unique_id": f"a|{p['unique_id']}"}, p | {"unique_id": f"b|{p['unique_id']}", "family": None})
              for p in profiles[:MIN_LABELLED_PAIRS]]
    labelled = ([p for g in groups for p in g], [(a["unique_id"], b["unique_id"]) for a, b in groups])
    settings = train(profiles, description="test", labelled=labelled)
    assert settings["contactpoint"]["labelled_pairs"] == MIN_LABELLED_PAIRS
    assert settings["contactpoint"]["records"] == len(profiles) + 2 * MIN_LABELLED_PAIRS
    few = (labelled[0][:2], labelled[1][:1])
    assert train(profiles, description="test", labelled=few)["contactpoint"]["labelled_pairs"] == 0
