"""A source answers its discrepancy items: it acknowledges one (it will correct its record) or disputes it (its value
is right, with a reason sealed for the data managers of the child's local authority); either way the item stays open
until the data agrees. Reports are read a page at a time, filtered, with the total. Every answer is audited."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from contactpoint.audit.actions import AuditAction
from contactpoint.audit.models import AuditEntry
from contactpoint.audit.trail import Actor
from contactpoint.bestview.discrepancies import Filters, acknowledge, dispute, fetch_report, report
from contactpoint.bestview.models import Discrepancy
from contactpoint.children.models import Child, ChildStatus
from contactpoint.errors import NotFound, ValidationError
from contactpoint.matching import review
from contactpoint.vault.keyring import get_keyring
from tests.bestview.test_discrepancies_cli import SCHOOL_ROW
from tests.factories import vouched_org
from tests.matching.test_review import GP_ROW, NOW, data_manager, feed, health_org, queued_pair, source
from tests.matching.test_review import SCHOOL_ROW as UNCERTAIN_ROW

pytestmark = pytest.mark.django_db

SCHOOL = Actor("source:agar-grove", "SCH-100001", "source-system")
REASON = "Amelia Hartley's birth certificate, seen by the school office, says the 8th."
# Three more children the school alone knows, each sent with an NHS number whose check digit is wrong.
OTHERS = [{"source_record_id": f"S-{n}", "given_name": given, "family_name": family, "gender": gender,
           "date_of_birth": dob, "postcode": postcode, "whereabouts": "current", "nhs_number": "1234567890"}
          for n, (given, family, gender, dob, postcode) in enumerate([
              ("Ben", "Okafor", "male", "2012-01-20", "NW5 1TL"), ("Cara", "Mensah", "female", "2013-03-14", "N7 9PW"),
              ("Dev", "Patel", "male", "2011-09-02", "NW3 2QG")], start=2)]


@pytest.fixture
def school():
    gp = source("gp-camden", "gp_registrations", health_org())
    school = source("agar-grove", "school_census", vouched_org())
    feed(gp, GP_ROW, now=NOW - timedelta(days=1))
    feed(school, SCHOOL_ROW, *OTHERS)
    return school


def the_item(field: str = "date_of_birth") -> Discrepancy:
    return Discrepancy.objects.get(source="agar-grove", field=field, closed_at__isnull=True)


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("discrepancies", *args, stdout=out)
    return out.getvalue()


def answer(kind: str, item_id: int, reason: str = "", source: str = "agar-grove", actor: Actor = SCHOOL):
    if kind == "acknowledge":
        return acknowledge(source, item_id, actor=actor, keyring=get_keyring(), now=NOW + timedelta(hours=1))
    return dispute(source, item_id, reason, actor=actor, keyring=get_keyring(), now=NOW + timedelta(hours=1))


def test_an_acknowledged_item_stays_open_until_the_source_puts_it_right(school):
    item = the_item()
    done = answer("acknowledge", item.pk)
    assert (done.id, done.source_record_id, done.state, done.answered) == (item.pk, "S-1", "acknowledged",
                                                                          NOW.date())
    [listed] = report("agar-grove", keyring=get_keyring(), filters=Filters(state="acknowledged"))
    assert listed.id == item.pk and listed.answered_by == "source:agar-grove"
    entry = AuditEntry.objects.get(action=AuditAction.DISCREPANCY_ACKNOWLEDGED)
    assert entry.actor == "source:agar-grove" and entry.outcome == "success"
    assert entry.subjects == [item.child.cpid]
    assert entry.context == {"source": "agar-grove", "item": item.pk, "field": "date_of_birth",
                             "kind": "disagreement"}

    feed(school, SCHOOL_ROW | {"date_of_birth": "2015-06-03"}, now=NOW + timedelta(days=1))
    item.refresh_from_db()
    assert item.closed_reason == "source agrees" and item.state == "acknowledged"
    assert report("agar-grove", keyring=get_keyring(), filters=Filters(field="date_of_birth")) == []


def test_a_dispute_is_sealed_and_only_the_childs_own_authority_reads_its_reason(school):
    item = the_item()
    done = answer("dispute", item.pk, f"  {REASON}\n")
    assert done.state == "disputed" and done.dispute_reason == ""  # the source's own copy never carries it
    item.refresh_from_db()
    assert b"Amelia" not in bytes(item.dispute_reason) and item.dispute_child_id == item.child_id
    entry = AuditEntry.objects.get(action=AuditAction.DISCREPANCY_DISPUTED)
    assert "Amelia" not in entry.detail and entry.subjects == [item.child.cpid]

    def as_read_by(reader):
        return {i.id: i for i in report("agar-grove", keyring=get_keyring(), reader=reader)}[item.pk]

    assert as_read_by(None).dispute_reason == "" and as_read_by(None).cpid == ""
    camden = as_read_by(data_manager())
    assert camden.dispute_reason == REASON and camden.cpid == item.child.cpid
    city = as_read_by(data_manager("cal.city", org="LA-201"))  # another authority's data manager
    assert city.dispute_reason == "" and city.cpid == item.child.cpid and city.state == "disputed"

    answer("acknowledge", item.pk)  # the latest answer stands
    item.refresh_from_db()
    assert item.state == "acknowledged" and bytes(item.dispute_reason) == b"" and item.dispute_child is None


def test_a_shielded_childs_item_gives_another_authority_neither_its_id_nor_the_reason(school):
    item = the_item()
    answer("dispute", item.pk, REASON)
    Child.objects.filter(pk=item.child_id).update(shielded=True)
    city = data_manager("cal.city", org="LA-201")
    report_ = fetch_report("agar-grove", actor=Actor("cal.city"), keyring=get_keyring(), now=NOW, reader=city)
    [theirs] = [i for i in report_.items if i.id == item.pk]
    assert (theirs.cpid, theirs.dispute_reason, theirs.state) == ("", "", "disputed")
    assert "Others hold" not in theirs.message
    assert item.child.cpid not in AuditEntry.objects.get(action="feed.discrepancy.fetched").subjects
    [own] = [i for i in report("agar-grove", keyring=get_keyring(), reader=data_manager()) if i.id == item.pk]
    assert own.cpid == item.child.cpid and own.dispute_reason == REASON  # the child's own authority


def test_another_sources_item_is_answered_as_if_it_did_not_exist_and_the_attempt_is_audited(school):
    item = the_item()
    gp = Actor("source:gp-camden", "GP-F83004", "source-system")
    with pytest.raises(NotFound) as theirs:
        answer("acknowledge", item.pk, source="gp-camden", actor=gp)
    with pytest.raises(NotFound) as absent:
        answer("dispute", 10**9, REASON, source="gp-camden", actor=gp)
    assert theirs.value.message == absent.value.message
    item.refresh_from_db()
    assert item.state == "open" and item.answered_at is None
    refused = AuditEntry.objects.filter(actor="source:gp-camden", outcome="refused").order_by("seq")
    assert [e.action for e in refused] == [AuditAction.DISCREPANCY_ACKNOWLEDGED, AuditAction.DISCREPANCY_DISPUTED]
    assert all(e.subjects == [] for e in refused)  # not even the ID of the child the item is about


def test_a_dispute_needs_a_short_reason_and_a_closed_item_cannot_be_answered(school):
    item = the_item()
    for bad in ("", "   ", "x" * 501):
        with pytest.raises(ValidationError) as refused:
            answer("dispute", item.pk, bad)
        assert refused.value.field == "reason"
    Discrepancy.objects.filter(pk=item.pk).update(closed_at=NOW, closed_reason="source agrees")
    with pytest.raises(ValidationError, match="closed"):
        answer("acknowledge", item.pk)
    assert not AuditEntry.objects.filter(action=AuditAction.DISCREPANCY_ACKNOWLEDGED, outcome="success").exists()


def test_a_disputes_reason_is_still_read_after_a_merge_moves_the_item_to_another_child():
    pair = queued_pair(GP_ROW, UNCERTAIN_ROW | {"upn": "A123456789012"})  # the school's UPN is not valid
    item = Discrepancy.objects.get(source="agar-grove", field="upn")
    answer("dispute", item.pk, REASON)
    review.decide(data_manager(), pair.pk, "link", keyring=get_keyring(), now=NOW + timedelta(days=1))
    item.refresh_from_db()
    assert item.child_id != item.dispute_child_id  # the school's record now belongs to the surviving child
    assert Child.objects.get(pk=item.dispute_child_id).status == ChildStatus.MERGED
    [read] = report("agar-grove", keyring=get_keyring(), filters=Filters(field="upn"),
                    reader=data_manager("dee.data"))
    assert read.dispute_reason == REASON and read.cpid == item.child.cpid


def test_the_report_is_read_a_page_at_a_time_and_filtered_with_the_total(school):
    def fetch(**kw):
        return fetch_report("agar-grove", actor=SCHOOL, keyring=get_keyring(), now=NOW, **kw)

    everything = fetch()
    assert everything.total == 4 and [i.source_record_id for i in everything.items] == ["S-1", "S-2", "S-3", "S-4"]
    pages = [fetch(offset=o, limit=3) for o in (0, 3)]
    assert [len(p.items) for p in pages] == [3, 1] and {p.total for p in pages} == {4}
    assert [i.id for p in pages for i in p.items] == [i.id for i in everything.items]
    invalid = fetch(filters=Filters(kind="invalid"))
    assert invalid.total == 3 and {i.field for i in invalid.items} == {"nhs_number"}
    assert fetch(filters=Filters(field="date_of_birth")).total == 1
    answer("acknowledge", invalid.items[0].id)
    assert [i.id for i in fetch(filters=Filters(state="acknowledged")).items] == [invalid.items[0].id]
    assert fetch(filters=Filters(state="open", kind="invalid")).total == 2
    entry = AuditEntry.objects.filter(action="feed.discrepancy.fetched").order_by("-seq").first()
    assert entry.context == {"source": "agar-grove", "items": 2, "total": 2, "kind": "invalid", "state": "open"}
    assert fetch(offset=3, limit=3).items and not fetch(offset=6, limit=3).items


# --- the command line ------------------------------------------------------------------------------------------


def test_the_command_acknowledges_and_disputes_for_the_source(school):
    item = the_item()
    out = run("agar-grove", "acknowledge", str(item.pk))
    assert f"Item {item.pk} acknowledged" in out and "S-1" in out
    out = run("agar-grove", "dispute", str(item.pk), "--reason", REASON)
    assert f"Item {item.pk} disputed" in out and "Amelia" not in out
    item.refresh_from_db()
    assert item.state == "disputed" and item.answered_by == "system:operator-cli"
    assert list(AuditEntry.objects.filter(action__in=[AuditAction.DISCREPANCY_ACKNOWLEDGED,
                                                      AuditAction.DISCREPANCY_DISPUTED])
                .values_list("actor", flat=True)) == ["system:operator-cli"] * 2
    text = run("agar-grove")
    assert f"item {item.pk}  record S-1  date_of_birth:" in text and "[disputed" in text
    assert REASON not in text and "Amelia Hartley's" not in run("agar-grove", "--format", "json")


def test_the_command_refuses_an_answer_it_cannot_take_with_one_line(school):
    item = the_item()
    for args, words in [(("dispute", str(item.pk)), "needs --reason"), (("acknowledge",), "say which item"),
                        (("acknowledge", str(item.pk), "--reason", "x"), "goes with dispute"),
                        (("acknowledge", "999999"), "no discrepancy item with this ID")]:
        with pytest.raises(CommandError, match=words):
            run("agar-grove", *args)
    with pytest.raises(CommandError, match="no discrepancy item with this ID"):
        run("gp-camden", "acknowledge", str(item.pk))  # the school's item, not the GP's
    assert Discrepancy.objects.get(pk=item.pk).state == "open"


def test_the_command_pages_and_filters(school):
    first = json.loads(run("agar-grove", "--format", "json", "--per-page", "3"))
    assert (first["count"], first["total"], first["page"], first["per_page"]) == (3, 4, 1, 3)
    second = json.loads(run("agar-grove", "--format", "json", "--per-page", "3", "--page", "2"))
    assert [i["source_record_id"] for i in second["items"]] == ["S-4"]
    assert json.loads(run("agar-grove", "--format", "json", "--kind", "invalid"))["total"] == 3
    only = json.loads(run("agar-grove", "--format", "json", "--field", "date_of_birth"))
    assert [i["source_record_id"] for i in only["items"]] == ["S-1"] and only["filters"] == {"field": "date_of_birth"}
    assert json.loads(run("agar-grove", "--format", "json", "--state", "disputed"))["items"] == []
    text = run("agar-grove", "--per-page", "3", "--page", "2", "--kind", "invalid")
    assert text.startswith("3 open item(s) for agar-grove (kind invalid)\npage 2 of 1: no items on this page")
    assert run("agar-grove", "--format", "csv").splitlines()[0] == \
        "id,source_record_id,field,kind,message,opened,state,answered"
