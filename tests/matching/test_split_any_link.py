"""Every link is reversible: a data manager splits any child's source records apart, whether the pipeline or a
person linked them; both children come out as if the link had never been made, and the split is audited."""

from __future__ import annotations

from datetime import timedelta

import pytest

from contactpoint.audit.models import AuditEntry
from contactpoint.children.models import Child, ChildStatus, SourceRecord
from contactpoint.children.store import load_record
from contactpoint.errors import NotFound, ValidationError
from contactpoint.matching import review
from contactpoint.matching.models import Label, ReviewItem
from contactpoint.vault.keyring import get_keyring
from tests.factories import make_person, sign_in, vouched_org
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

BENEFIT_ROW = AMELIA | {"source_record_id": "CHB-1", "nhs_number": "9434765919", "given_name": "Millie",
                        "address_line_1": "4 Camden Road", "postcode": "NW1 9LR"}


def _linked_by_the_pipeline():
    gp = source("gp-camden", "gp_registrations", health_org())
    feed(gp, GP_ROW, now=NOW - timedelta(days=2))
    [child] = Child.objects.all()
    ring = get_keyring()
    before = (load_record(ring, child), records_of(child), tokens_of(child), child.responsible_la)
    benefit = source("child-benefit", "child_benefit", vouched_org("CHB", "Child Benefit", "national"))
    run = feed(benefit, BENEFIT_ROW, now=NOW - timedelta(days=1))
    assert run.records_linked == 1 and Child.objects.count() == 1  # the pipeline linked them on its own
    return child, before


def test_a_link_the_pipeline_made_is_split_and_both_children_are_as_if_it_had_never_been_made():
    child, before = _linked_by_the_pipeline()
    ring = get_keyring()
    dana = data_manager()
    _, listed = review.records_of(dana, child.cpid, keyring=ring, now=NOW)
    assert sorted(r.source for r in listed) == ["child-benefit", "gp-camden"]
    benefit = next(r for r in listed if r.source == "child-benefit")
    made = review.split_records(dana, child.cpid, [benefit.id], note="Two children, one NHS number.",
                                keyring=ring, now=NOW)
    child.refresh_from_db()
    assert (load_record(ring, child), records_of(child), tokens_of(child), child.responsible_la) == before
    assert made.status == ChildStatus.LIVE and made.cpid != child.cpid
    theirs = load_record(ring, made)
    assert theirs.name.value.given == "Millie" and theirs.whereabouts.value.address.postcode == "NW1 9LR"
    assert [s.source for s in theirs.source_ids] == ["child-benefit"]
    assert SourceRecord.objects.filter(child=made).count() == 1
    item = ReviewItem.objects.get()
    assert item.status == ReviewItem.Status.KEPT_APART and {item.child_a_id, item.child_b_id} == {child.pk, made.pk}
    assert Label.objects.get().is_match is False
    split = AuditEntry.objects.filter(action="match.split").get()
    assert set(split.subjects) == {child.cpid, made.cpid} and split.actor == "dana.data"


def test_a_split_must_leave_a_record_choose_one_and_stay_in_the_users_authority():
    child, _ = _linked_by_the_pipeline()
    ring = get_keyring()
    dana = data_manager()
    ids = list(SourceRecord.objects.filter(child=child).values_list("pk", flat=True))
    with pytest.raises(ValidationError, match="leave at least one record"):
        review.split_records(dana, child.cpid, ids, keyring=ring, now=NOW)
    with pytest.raises(ValidationError, match="choose the records"):
        review.split_records(dana, child.cpid, [], keyring=ring, now=NOW)
    with pytest.raises(NotFound):
        review.split_records(data_manager("ola.other", org="LA-203"), child.cpid, ids[:1], keyring=ring, now=NOW)
    assert Child.objects.count() == 1


def test_the_page_finds_the_record_lists_its_sources_and_splits_the_ones_chosen(client):
    child, _ = _linked_by_the_pipeline()
    sign_in(client, make_person("dana.data", role="data-manager", org="LA-202"))
    html = client.get("/review").content.decode()
    assert 'href="/review/split"' in html
    html = client.get("/review/split", {"cpid": child.cpid}).content.decode()
    assert "2 records from its sources" in html and "child-benefit: Millie Hartley" in html
    benefit = SourceRecord.objects.get(source="child-benefit")
    response = client.post(f"/review/split?cpid={child.cpid}", {"records": []})
    assert "Choose the records that belong to another child" in response.content.decode()
    response = client.post(f"/review/split?cpid={child.cpid}", {"records": [str(benefit.pk)], "note": ""})
    assert response.status_code == 302
    html = client.get(response["Location"]).content.decode()
    assert "is a record of its own" in html and "1 record from its sources" in html
    assert Child.objects.filter(status=ChildStatus.LIVE).count() == 2
    html = client.get("/review/split", {"cpid": "NOT-AN-ID"}).content.decode()
    assert "There is no record with that ContactPoint ID for your local authority" in html


def test_the_command_lists_a_records_sources_and_splits_them_as_a_named_data_manager():
    import io

    from django.core.management import call_command

    child, _ = _linked_by_the_pipeline()
    data_manager()
    out = io.StringIO()
    call_command("review", "records", child.cpid, "--as", "dana.data", stdout=out)
    assert f"{child.cpid}: 2 source record(s)" in out.getvalue() and "child-benefit  Millie Hartley" in out.getvalue()
    benefit = SourceRecord.objects.get(source="child-benefit")
    out = io.StringIO()
    call_command("review", "split-records", child.cpid, "--records", str(benefit.pk), "--as", "dana.data", stdout=out)
    assert "is a record of its own" in out.getvalue()
    assert Child.objects.filter(status=ChildStatus.LIVE).count() == 2
