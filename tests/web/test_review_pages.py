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
    assert "943 476 5919" in html and "401 023 2137" in html  # spaced as the NHS writes them (issue 18)
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


# --- discrepancies: answers, paging, filters, a link to each child ----------------------------------------------

DISPUTE = "Birth certificate of Amelia Hartley seen at the school office."


def _school_items() -> Child:
    """The school disagrees with the GP about Amelia's date of birth (item 1), and sent three children with NHS
    numbers that fail the check digit (items 2 to 4). Returns Amelia's child."""
    from contactpoint.bestview.discrepancies import dispute
    from contactpoint.bestview.models import Discrepancy
    from contactpoint.vault.keyring import get_keyring
    from tests.bestview.test_discrepancy_answers import OTHERS, SCHOOL, SCHOOL_ROW
    from tests.factories import vouched_org
    from tests.matching.test_review import health_org

    feed(source("gp-camden", "gp_registrations", health_org()), GP_ROW, now=NOW - timedelta(days=1))
    feed(source("agar-grove", "school_census", vouched_org()), SCHOOL_ROW, *OTHERS)
    item = Discrepancy.objects.get(field="date_of_birth")
    dispute("agar-grove", item.pk, DISPUTE, actor=SCHOOL, keyring=get_keyring(), now=NOW)
    return item.child


def test_each_discrepancy_shows_the_sources_answer_and_links_to_the_child(client, dana):
    child = _school_items()
    html = page(client.get("/discrepancies", {"source": "agar-grove"}))
    assert "4 open items" in html and "Disputed" in html and "Not answered" in html
    assert "By the source" in html and DISPUTE in html  # Amelia is Camden's: its data manager reads the reason
    assert f'href="/children/{child.cpid}"' in html and html.count('href="/children/') == 4
    entry = AuditEntry.objects.get(action="feed.discrepancy.fetched")
    assert child.cpid in entry.subjects and entry.context["reasons_opened"] == 1
    # The link leads to the record, which asks for a reason first, as every record view does.
    assert "Why do you need this record?" in page(client.get(f"/children/{child.cpid}"))


def test_another_authoritys_data_manager_reads_neither_the_reason_nor_a_shielded_childs_id(client):
    child = _school_items()
    Child.objects.filter(pk=child.pk).update(responsible_la="201")
    sign_in(client, make_person("cal.city", role="data-manager", org="LA-201"))
    assert "agar-grove" not in page(client.get("/discrepancies"))  # not a source of theirs
    client.logout()
    sign_in(client, make_person("dana.data", role="data-manager", org="LA-202"))
    html = page(client.get("/discrepancies", {"source": "agar-grove"}))
    assert DISPUTE not in html and "Disputed" in html and f'href="/children/{child.cpid}"' in html
    Child.objects.filter(pk=child.pk).update(shielded=True)
    html = page(client.get("/discrepancies", {"source": "agar-grove"}))
    assert child.cpid not in html and "Not shown" in html and "Others hold" not in html
    for secret in ("Amelia", "Hartley", "NW1", "12 Agar", "9434765919", "F83004", "2015-06-03"):
        assert secret not in html, secret
    assert child.cpid not in AuditEntry.objects.filter(action="feed.discrepancy.fetched").order_by("-seq")[0].subjects


def test_the_discrepancies_page_is_paged_and_filtered(client, dana, monkeypatch):
    monkeypatch.setattr("contactpoint.web.review.PAGE_SIZE", 3)
    _school_items()
    first = page(client.get("/discrepancies", {"source": "agar-grove"}))
    assert "4 open items" in first and "S-1" in first and "S-4" not in first
    assert "govuk-pagination" in first and 'href="?source=agar-grove&amp;page=2"' in first
    second = page(client.get("/discrepancies", {"source": "agar-grove", "page": "2"}))
    assert "S-4" in second and "S-1" not in second
    invalid = page(client.get("/discrepancies", {"source": "agar-grove", "kind": "invalid"}))
    assert "3 open items matching" in invalid and "S-1" not in invalid and "govuk-pagination" not in invalid
    disputed = page(client.get("/discrepancies", {"source": "agar-grove", "state": "disputed"}))
    assert "1 open item matching" in disputed and "S-1" in disputed
    by_field = page(client.get("/discrepancies", {"source": "agar-grove", "field": "nhs_number", "kind": "invalid"}))
    assert "3 open items matching" in by_field and '<option value="nhs_number" selected>NHS number' in by_field
    assert page(client.get("/discrepancies", {"source": "agar-grove", "field": "nonsense", "page": "x"}))
