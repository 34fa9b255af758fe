"""A local authority's changes follow a merge and its split (issue 19): the absorbed record's changes in force and
proposals awaiting approval move to the kept record; where both had a change of the same value in force, the newer
applies and the older is set aside where the data managers see it; a split puts each change back on the record it
was made on."""

from __future__ import annotations

from datetime import timedelta

import pytest

from contactpoint.audit.models import AuditEntry
from contactpoint.children.models import Child, ChildStatus
from contactpoint.children.store import load_record
from contactpoint.matching import review
from contactpoint.matching.models import Merge
from contactpoint.matching.review import Decision
from contactpoint.records import amendments
from contactpoint.records.models import Amendment
from contactpoint.vault.keyring import get_keyring
from tests.ingest.test_linked_merge import LA_ROW, two_children_then_the_record_that_joins_them
from tests.matching.test_review import NOW, data_manager, feed, queued_pair

pytestmark = pytest.mark.django_db
Status = Amendment.Status


def _record(child: Child):
    child.refresh_from_db()
    return load_record(get_keyring(), child)


def _amend(user, child: Child, field: str, values: dict[str, str], hours: int) -> Amendment:
    return amendments.amend(user, child.cpid, field, values, "Checked with the family.", keyring=get_keyring(),
                            now=NOW - timedelta(hours=hours))


def test_changes_move_to_the_kept_record_the_newer_wins_a_conflict_and_a_split_puts_each_back():
    ring = get_keyring()
    item = queued_pair()
    dana, dev = data_manager(), data_manager("dev.second")
    survivor, absorbed = item.child_a, item.child_b
    if (absorbed.created_at, absorbed.pk) < (survivor.created_at, survivor.pk):
        survivor, absorbed = absorbed, survivor
    older = _amend(dana, survivor, "gender", {"gender": "not specified"}, hours=5)
    newer = _amend(dana, absorbed, "gender", {"gender": "male"}, hours=3)
    named = _amend(dana, absorbed, "name", {"given_name": "Amelie", "family_name": "Hartley"}, hours=4)
    proposed = _amend(dana, absorbed, "uln", {"uln": "1234567899"}, hours=2)

    review.decide(dev, item.pk, Decision.LINK, keyring=ring, now=NOW)
    record = _record(survivor)
    assert record.gender.value == "male" and record.name.value.given == "Amelie"
    assert record.gender.provenance.source == "la:202"
    states = {a.key: (a.child_id, a.status) for a in Amendment.objects.all()}
    assert states == {older.key: (survivor.pk, Status.SET_ASIDE), newer.key: (survivor.pk, Status.ACTIVE),
                      named.key: (survivor.pk, Status.ACTIVE), proposed.key: (survivor.pk, Status.PROPOSED)}
    # The set-aside change is shown to the data managers, and the proposal still waits for a second one.
    assert [a.key for a in amendments.set_aside(dana)] == [older.key]
    assert [a.key for a in amendments.awaiting_approval(dev)] == [proposed.key]
    assert amendments.opened(dana, newer.key, keyring=ring).value == "male"  # re-sealed under the kept child's key
    assert AuditEntry.objects.filter(action="record.amendment.set_aside", subjects=[survivor.cpid]).count() == 1
    assert AuditEntry.objects.filter(action="record.amendments.carried").count() == 1

    merge = Merge.objects.get()
    review.split(dev, merge.pk, keyring=ring, now=NOW + timedelta(hours=1))
    states = {a.key: (a.child_id, a.status) for a in Amendment.objects.all()}
    assert states == {older.key: (survivor.pk, Status.ACTIVE), newer.key: (absorbed.pk, Status.ACTIVE),
                      named.key: (absorbed.pk, Status.ACTIVE), proposed.key: (absorbed.pk, Status.PROPOSED)}
    assert _record(survivor).gender.value == "not specified" and _record(survivor).name.value.given == "Amelia"
    back = _record(absorbed)
    assert (back.gender.value, back.name.value.given) == ("male", "Amelie")
    assert amendments.opened(dana, named.key, keyring=ring).value.given == "Amelie"
    assert amendments.set_aside(dana) == []
    assert AuditEntry.objects.filter(action="record.amendments.carried").count() == 2


def test_closing_a_set_aside_change_keeps_the_newer_and_changing_the_value_closes_it_too():
    ring = get_keyring()
    item = queued_pair()
    dana, dev = data_manager(), data_manager("dev.second")
    survivor, absorbed = item.child_a, item.child_b
    if (absorbed.created_at, absorbed.pk) < (survivor.created_at, survivor.pk):
        survivor, absorbed = absorbed, survivor
    older = _amend(dana, survivor, "gender", {"gender": "not specified"}, hours=5)
    _amend(dana, absorbed, "gender", {"gender": "male"}, hours=3)
    review.decide(dev, item.pk, Decision.LINK, keyring=ring, now=NOW)
    amendments.withdraw(dev, older.key, keyring=ring, now=NOW)
    assert Amendment.objects.get(key=older.key).status == Status.WITHDRAWN
    assert _record(survivor).gender.value == "male"
    assert amendments.set_aside(dana) == []


def test_a_merge_the_feeds_make_carries_the_changes_too():
    la = two_children_then_the_record_that_joins_them()
    gp_child, school_child = Child.objects.order_by("created_at", "id")
    made = _amend(data_manager(), school_child, "gp", {"gp_practice_code": "F83010",
                                                       "gp_practice_name": "Kentish Town Practice"}, hours=1)
    assert feed(la, LA_ROW).children_merged == 1
    assert Child.objects.get(pk=school_child.pk).status == ChildStatus.MERGED
    row = Amendment.objects.get(key=made.key)
    assert (row.child_id, row.status) == (gp_child.pk, Status.ACTIVE)
    gp = _record(gp_child).gp
    assert (gp.value.code, gp.provenance.source) == ("F83010", "la:202")
    carried = AuditEntry.objects.get(action="record.amendments.carried")
    assert carried.actor == "system:matching" and carried.context["amendments"] == [made.key]
