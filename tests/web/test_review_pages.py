"""The review queue pages: a data manager sees their authority's pairs, opens one to see both records side by side
with the evidence, decides with a GOV.UK form, and can split a merge from the history."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from contactpoint.audit.models import AuditEntry
from contactpoint.children.models import Child, ChildStatus
from contactpoint.matching.models import Merge, ReviewItem
from tests.factories import make_person, sign_in
from tests.matching.test_review import GP_ROW, NOW, cross_border_pair, feed, queued_pair, source

pytestmark = pytest.mark.django_db


@pytest.fixture
def dana(client):
    person = make_person("dana.data", role="data-manager", org="LA-202")
    sign_in(client, person)
    return person


def page(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def test_the_queue_shows_the_count_and_each_pair_without_any_childs_details(client, dana):
    item = queued_pair()
    html = page(client.get("/review"))
    assert "1 pair: waiting (open and deferred)" in html
    assert f'href="/review/{item.pk}"' in html and "Different NHS numbers" in html
    assert "Amelia" not in html and "Hartley" not in html
    assert 'href="/review"' in html  # the service navigation's "Review matches"
    filtered = page(client.get("/review", {"show": "decided"}))
    assert "0 pairs: decided" in filtered
    assert page(client.get("/review", {"show": "nonsense", "page": "x"}))  # bad filters: the default list


def test_a_pair_shows_both_records_side_by_side_with_the_evidence_and_a_decision_form(client, dana):
    item = queued_pair()
    html = page(client.get(f"/review/{item.pk}"))
    assert html.count("Amelia Hartley") == 2 and "govuk-grid-column-one-half" in html
    assert "9434765919" in html and "4010232137" in html
    assert "Agar Grove Primary" in html and "Camden Health Centre" in html
    assert "The evidence" in html and "NHS number" in html and "Different" in html
    assert re.search(r"Date of birth</th>\s*<td[^>]*>Exact</td>\s*<td[^>]*>\+\d", html)
    assert 'name="decision"' in html and 'value="link"' in html and 'value="defer"' in html
    assert AuditEntry.objects.filter(action="match.review.opened", actor="dana.data").count() == 1


def test_a_decision_without_a_choice_or_a_deferral_without_a_note_shows_an_error_summary(client, dana):
    item = queued_pair()
    html = page(client.post(f"/review/{item.pk}", {"note": ""}))
    assert "govuk-error-summary" in html and "Choose link, keep apart or defer" in html
    assert "<title>Error:" in html and 'href="#id_decision"' in html
    html = page(client.post(f"/review/{item.pk}", {"decision": "defer", "note": " "}))
    assert "Say why you are deferring" in html and 'href="#id_note"' in html
    assert ReviewItem.objects.get().status == ReviewItem.Status.OPEN


def test_linking_goes_back_to_the_queue_and_the_history_offers_to_split(client, dana):
    item = queued_pair()
    response = client.post(f"/review/{item.pk}", {"decision": "link", "note": "Same mother and home."})
    assert response.status_code == 302 and response["Location"] == "/review"
    html = page(client.get("/review"))
    assert f"Pair {item.pk} linked" in html and "0 pairs" in html
    merge = Merge.objects.get()
    history = page(client.get("/review/history"))
    assert "Linked: the same child" in history and f'href="/review/merges/{merge.pk}/split"' in history
    decided = page(client.get(f"/review/{item.pk}"))
    assert "Same mother and home." in decided and "This pair has been decided" in decided
    assert "Merged into" in decided and "&lt;" not in decided  # no markup shown as text

    assert "Split a merge" in page(client.get(f"/review/merges/{merge.pk}/split"))
    response = client.post(f"/review/merges/{merge.pk}/split", {"note": "Cousins, not one child."})
    assert response.status_code == 302 and response["Location"] == "/review/history"
    html = page(client.get("/review/history"))
    assert f"Merge {merge.pk} split" in html and "Split: the link was undone" in html
    assert Child.objects.filter(status=ChildStatus.LIVE).count() == 2
    again = page(client.post(f"/review/merges/{merge.pk}/split", {}))
    assert "already been split" in again


def test_deferring_keeps_the_pair_waiting_with_its_note(client, dana):
    item = queued_pair()
    client.post(f"/review/{item.pk}", {"decision": "defer", "note": "Asked the school."})
    assert "1 pair: deferred" in page(client.get("/review", {"show": "deferred"}))
    assert "Asked the school." in page(client.get(f"/review/{item.pk}"))


def test_another_authoritys_data_manager_cannot_open_or_decide_the_pair(client):
    item = queued_pair()
    sign_in(client, make_person("olu.other", role="data-manager", org="LA-201"))
    assert "0 pairs" in page(client.get("/review"))
    assert client.get(f"/review/{item.pk}").status_code == 404
    assert client.post(f"/review/{item.pk}", {"decision": "link"}).status_code == 404
    assert ReviewItem.objects.get().status == ReviewItem.Status.OPEN
    assert client.get("/review/999999").status_code == 404


def test_a_shielded_child_of_another_authority_shows_only_its_visible_fields(client, dana):
    item = cross_border_pair()
    Child.objects.filter(responsible_la="201").update(shielded=True)
    html = page(client.get(f"/review/{item.pk}"))
    assert "shielded by another local authority" in html and html.count("Amelia Hartley") == 2
    for hidden in ("EC1Y", "1 Long Lane", "Barbican Surgery", "4010232137", "gp-city"):
        assert hidden not in html, hidden
    assert "NW1 8NP" in html  # Camden's own child is shown in full


def test_a_practitioner_cannot_reach_the_queue(client):
    sign_in(client, make_person())
    assert client.get("/review").status_code == 403


def test_the_discrepancies_page_lists_the_open_items_of_the_authoritys_sources(client, dana):
    from tests.factories import vouched_org
    from tests.matching.test_review import health_org

    gp = source("gp-camden", "gp_registrations", health_org())
    school = source("agar-grove", "school_census", vouched_org())
    feed(gp, GP_ROW, now=NOW - timedelta(days=1))
    feed(school, GP_ROW | {"source_record_id": "S-1", "date_of_birth": "2015-06-08"})
    html = page(client.get("/discrepancies"))
    assert "agar-grove" in html and "gp-camden" in html and "S-1" not in html
    html = page(client.get("/discrepancies", {"source": "agar-grove"}))
    assert "1 open item" in html and "S-1" in html and "Others hold 2015-06-03" in html
    assert AuditEntry.objects.get(action="feed.discrepancy.fetched").actor == "dana.data"
    assert "S-1" not in page(client.get("/discrepancies", {"source": "not-ours"}))
