"""POST /api/v1/feeds/{source} and GET /api/v1/feeds/{source}/discrepancies: source systems with their API key,
over the same ingest as ``contactpoint ingest``."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from urllib.parse import urlparse

import pytest

from contactpoint.audit.models import AuditEntry
from contactpoint.children.models import Child, SourceRecord
from contactpoint.feeds import formats
from contactpoint.feeds.formats.raw import blank_fields
from contactpoint.feeds.models import FeedRun
from tests.api.clients import bearer, make_source
from tests.jobs import run_jobs

pytestmark = pytest.mark.django_db

AMELIA = {"source_record_id": "SC-1", "given_name": "Amelia", "family_name": "Hartley", "gender": "female",
          "date_of_birth": "2015-06-03", "nhs_number": "9434765919", "address_line_1": "12 Agar Grove",
          "town": "London", "postcode": "NW1 8NP", "whereabouts": "current", "carer_1_name": "Sarah Hartley",
          "carer_1_relationship": "mother", "carer_1_parental_responsibility": "yes"}
BEN = {"source_record_id": "SC-2", "given_name": "Ben", "family_name": "Okafor", "gender": "male",
       "date_of_birth": "2012-01-20", "postcode": "NW5 1TL", "whereabouts": "current"}
BAD_DATE = {"source_record_id": "SC-3", "given_name": "Cara", "family_name": "Mensah", "gender": "female",
            "date_of_birth": "2015-02-30"}


def feed(*rows: dict[str, str], fmt: str = "csv", extra: dict[str, str] | None = None) -> bytes:
    stream = io.BytesIO()
    formats.write(fmt, [blank_fields() | r | (extra or {}) for r in rows], stream)
    return stream.getvalue()


def post(client, key, data: bytes, source="camden-social-care", content_type="text/csv", **params):
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return client.post(f"/api/v1/feeds/{source}" + (f"?{query}" if query else ""), data,
                       content_type=content_type, **bearer(key))


@dataclass
class Finished:
    """A feed job as its source sees it at the end: its poll's status code, and the run's summary (the job
    itself if it did not complete)."""

    status_code: int
    job: dict

    def json(self) -> dict:
        return self.job["result"] if self.job["status"] == "completed" else self.job


def submit(client, key, data: bytes, source="camden-social-care", content_type="text/csv", **params):
    """Send a feed, let the worker run it, and poll it: what a source does. A refusal before the job is queued
    (401, 403, 413, 415, 422) is the POST's own answer."""
    response = post(client, key, data, source, content_type, **params)
    if response.status_code != 202:
        return response
    run_jobs()
    polled = client.get(urlparse(response.json()["poll"]).path, **bearer(key))
    return Finished(polled.status_code, polled.json())


@pytest.fixture
def key(source_key):
    return source_key[1]


def test_a_feed_is_taken_and_each_bad_value_is_flagged_with_line_field_and_reason(client, key):
    response = submit(client, key, feed(AMELIA, BEN, BAD_DATE))
    assert response.status_code == 200, response.content
    run = response.json()
    assert run["status"] == "completed" and run["repeat"] is False and run["format"] == "csv"
    # The impossible date costs the date, not the row: with no date of birth and no other record, it is held.
    assert (run["rows"], run["accepted"], run["refused"], run["held"], run["children_created"]) == (3, 3, 0, 1, 2)
    [problem] = run["problems"]
    assert problem["line"] == 4 and problem["field"] == "date_of_birth" and problem["kind"] == "value"
    assert "2015-02-30" not in problem["reason"] and run["problems_total"] == 1
    assert Child.objects.count() == 2
    assert AuditEntry.objects.filter(action="feed.completed", actor="source:camden-social-care").exists()


def test_the_same_file_twice_changes_nothing(client, key):
    data = feed(AMELIA, BEN)
    first = submit(client, key, data).json()
    again = submit(client, key, data)
    assert again.status_code == 200
    assert again.json()["repeat"] is True and again.json()["run"] == first["run"]
    assert Child.objects.count() == 2 and FeedRun.objects.count() == 1 and SourceRecord.objects.count() == 2


def test_fields_outside_schedule_1_are_refused_one_by_one_and_the_row_is_taken(client, key):
    run = submit(client, key, feed(AMELIA, extra={"diagnosis": "asthma"})).json()
    assert run["accepted"] == 1 and run["fields_refused"] == 1
    [problem] = run["problems"]
    assert problem["field"] == "diagnosis" and problem["kind"] == "field" and "asthma" not in problem["reason"]


@pytest.mark.parametrize("fmt,content_type", [("jsonl", "application/x-ndjson"), ("fhir", "application/fhir+json"),
                                              ("csv", "text/csv; charset=utf-8")])
def test_the_format_comes_from_the_content_type(client, key, fmt, content_type):
    run = submit(client, key, feed(AMELIA, BEN, fmt=fmt), content_type=content_type).json()
    assert run["format"] == fmt and run["accepted"] == 2


def test_format_in_the_query_overrides_the_content_type(client, key):
    run = submit(client, key, feed(AMELIA, fmt="jsonl"), content_type="application/octet-stream",
                 format="jsonl").json()
    assert run["format"] == "jsonl" and run["accepted"] == 1


def test_an_unknown_format_is_415_and_an_empty_body_422(client, key):
    response = submit(client, key, feed(AMELIA), content_type="application/octet-stream")
    assert response.status_code == 415 and response.json()["code"] == "unsupported_media_type"
    response = submit(client, key, b"")
    assert response.status_code == 422 and response.json()["code"] == "feed_rejected"
    assert not FeedRun.objects.exists()


def test_a_file_that_cannot_be_read_is_refused_whole(client, key):
    job = submit(client, key, b"\xff\xfe not utf-8 at all\n", content_type="text/csv").json()
    assert job["status"] == "failed" and job["result"] is None and "UTF-8" in job["message"]
    assert not Child.objects.exists()


def test_a_feed_is_answered_at_once_with_a_job_kept_sealed_until_the_worker_runs_it(client, key):
    from contactpoint.feeds.models import FeedJob

    response = post(client, key, feed(AMELIA, BEN))
    assert response.status_code == 202, response.content
    job = response.json()
    assert job["status"] == "queued" and job["result"] is None
    assert job["poll"].endswith(f"/api/v1/feeds/camden-social-care/jobs/{job['job']}")
    assert not Child.objects.exists() and not FeedRun.objects.exists()  # nothing runs inside the request
    stored = bytes(FeedJob.objects.get().payload)
    assert b"Amelia" not in stored and b"9434765919" not in stored and len(stored) > 100
    poll = urlparse(job["poll"]).path
    assert client.get(poll, **bearer(key)).json()["status"] == "queued"

    run_jobs()

    done = client.get(poll, **bearer(key)).json()
    assert done["status"] == "completed" and done["result"]["children_created"] == 2
    assert done["started_at"] and done["finished_at"]
    assert bytes(FeedJob.objects.get().payload) == b""  # the file is not kept once run
    assert Child.objects.count() == 2
    assert list(AuditEntry.objects.filter(action__in=("feed.queued", "feed.job.read")).values_list(
        "action", flat=True).order_by("seq")) == ["feed.queued", "feed.job.read", "feed.job.read"]


def test_a_job_is_found_only_by_its_own_source(client, key):
    _, other_key = make_source("camden-gp", kind="gp_registrations")
    job = post(client, key, feed(AMELIA)).json()
    assert client.get(f"/api/v1/feeds/camden-gp/jobs/{job['job']}", **bearer(other_key)).status_code == 404
    assert client.get("/api/v1/feeds/camden-social-care/jobs/not-a-uuid", **bearer(key)).status_code == 404
    assert client.get(f"/api/v1/feeds/camden-social-care/jobs/{job['job']}", **bearer(other_key)).status_code \
        == 403


def test_a_full_feed_retires_records_it_no_longer_lists(client, key):
    submit(client, key, feed(AMELIA, BEN), mode="full")
    run = submit(client, key, feed(AMELIA), mode="full").json()
    assert run["mode"] == "full"
    assert SourceRecord.objects.filter(active=True).count() == 1


def test_a_key_acts_only_for_its_own_source(client, key):
    make_source("islington-social-care")
    for source in ("islington-social-care", "no-such-source"):
        response = submit(client, key, feed(AMELIA), source=source)
        assert response.status_code == 403 and response.json()["code"] == "permission_denied"
        response = client.get(f"/api/v1/feeds/{source}/discrepancies", **bearer(key))
        assert response.status_code == 403
    assert not FeedRun.objects.exists()
    assert AuditEntry.objects.filter(action="auth.access.refused", actor="source:camden-social-care").count() == 4


def test_a_practitioner_token_can_never_submit_a_feed(client, key, token):
    response = submit(client, token, feed(AMELIA))
    assert response.status_code == 403 and "cannot submit feeds" in response.json()["detail"]
    assert client.get("/api/v1/feeds/camden-social-care/discrepancies", **bearer(token)).status_code == 403
    assert not FeedRun.objects.exists()


def test_bad_keys_are_refused_alike_and_audited(client, key):
    for bad in ("cpk_000000000000_" + "A" * 43, "nonsense", key[:-2] + "xx"):
        response = submit(client, bad, feed(AMELIA))
        assert response.status_code == 401 and response.json()["code"] == "authentication_failed"
    assert AuditEntry.objects.filter(action="auth.source.failed").count() == 3
    assert submit(client, "", feed(AMELIA)).status_code == 401


def test_a_key_scoped_to_discrepancies_cannot_submit(client):
    from django.utils import timezone

    from contactpoint.access.roles import Permission
    from contactpoint.access.sources import issue_key
    from contactpoint.vault.keyring import get_keyring

    source, _ = make_source("camden-education")
    narrow = issue_key(None, source, now=timezone.now(), keyring=get_keyring(),
                       scopes=frozenset({Permission.FEED_DISCREPANCIES})).token
    response = submit(client, narrow, feed(AMELIA), source="camden-education")
    assert response.status_code == 403 and response.json()["code"] == "permission_denied"
    assert client.get("/api/v1/feeds/camden-education/discrepancies", **bearer(narrow)).status_code == 200


def test_a_source_reads_its_own_open_discrepancies_and_never_a_shielded_childs_details(client):
    _, gp_key = make_source("camden-gp", kind="gp_registrations")
    _, school_key = make_source("agar-grove-mis", kind="school_census")
    assert submit(client, gp_key, feed(AMELIA), source="camden-gp").json()["children_created"] == 1
    theirs = AMELIA | {"source_record_id": "UPN-77", "date_of_birth": "2015-06-04"}
    run = submit(client, school_key, feed(theirs), source="agar-grove-mis").json()
    assert run["records_linked"] == 1, run

    response = client.get("/api/v1/feeds/agar-grove-mis/discrepancies", **bearer(school_key))
    assert response.status_code == 200
    body = response.json()
    assert body["source"] == "agar-grove-mis"
    [item] = body["items"]
    assert item["source_record_id"] == "UPN-77" and item["field"] == "date_of_birth"
    assert "Others hold 2015-06-03" in item["message"]
    assert client.get("/api/v1/feeds/camden-gp/discrepancies", **bearer(gp_key)).json()["items"] == []
    assert AuditEntry.objects.filter(action="feed.discrepancy.fetched", actor="source:agar-grove-mis").exists()

    Child.objects.update(shielded=True)
    shielded = client.get("/api/v1/feeds/agar-grove-mis/discrepancies", **bearer(school_key))
    [item] = shielded.json()["items"]
    assert "Others hold" not in item["message"]
    for value in ("2015-06-03", "Amelia", "Hartley", "NW1", "Agar Grove", "London", "9434765919", "SC-1"):
        assert value not in shielded.content.decode()


# --- a source's answers to its items, and its report a page at a time ------------------------------------------

REASON = "Checked against Amelia Hartley's birth certificate: the 4th is right."


@pytest.fixture
def school(client):
    """The GP and the school disagree about Amelia's date of birth; the school also sent two children whose NHS
    numbers fail the check digit. Returns the school's key."""
    _, gp_key = make_source("camden-gp", kind="gp_registrations")
    _, school_key = make_source("agar-grove-mis", kind="school_census")
    submit(client, gp_key, feed(AMELIA), source="camden-gp")
    theirs = [AMELIA | {"source_record_id": "UPN-77", "date_of_birth": "2015-06-04"},
              BEN | {"source_record_id": "UPN-78", "nhs_number": "1234567890"},
              BAD_DATE | {"source_record_id": "UPN-79", "date_of_birth": "2015-02-28", "nhs_number": "1234567890"}]
    assert submit(client, school_key, feed(*theirs), source="agar-grove-mis").json()["records_linked"] == 1
    return school_key, gp_key


def report_of(client, key, source="agar-grove-mis", **params):
    response = client.get(f"/api/v1/feeds/{source}/discrepancies", params, **bearer(key))
    assert response.status_code == 200, response.content
    return response.json()


def answer(client, key, item, action, body=None, source="agar-grove-mis"):
    return client.post(f"/api/v1/feeds/{source}/discrepancies/{item}/{action}", body or {},
                       content_type="application/json", **bearer(key))


def test_a_source_acknowledges_and_disputes_its_own_items_which_stay_open(client, school):
    key, _ = school
    [item] = report_of(client, key, field="date_of_birth")["items"]
    assert item["state"] == "open" and "answered" not in item and isinstance(item["id"], int)

    response = answer(client, key, item["id"], "acknowledge")
    assert response.status_code == 200, response.content
    assert response.json() | {"answered": None} == item | {"state": "acknowledged", "answered": None}
    response = answer(client, key, item["id"], "dispute", {"reason": REASON})
    assert response.status_code == 200 and response.json()["state"] == "disputed"
    [listed] = report_of(client, key, field="date_of_birth")["items"]
    assert listed["state"] == "disputed" and listed["answered"]
    assert "birth certificate" not in json.dumps(report_of(client, key))  # the reason is for data managers only

    actions = AuditEntry.objects.filter(actor="source:agar-grove-mis", outcome="success", action__in=[
        "feed.discrepancy.acknowledged", "feed.discrepancy.disputed"]).order_by("seq")
    assert [(e.action, e.context["item"], e.context["api"]) for e in actions] == [
        ("feed.discrepancy.acknowledged", item["id"], True), ("feed.discrepancy.disputed", item["id"], True)]


def test_a_dispute_without_a_reason_or_with_too_long_a_one_is_refused(client, school):
    key, _ = school
    item = report_of(client, key)["items"][0]["id"]
    for body in ({}, {"reason": "   "}, {"reason": "x" * 501}):
        response = answer(client, key, item, "dispute", body)
        assert response.status_code == 422 and response.json()["code"] == "invalid", body
    response = client.post(f"/api/v1/feeds/agar-grove-mis/discrepancies/{item}/dispute", b"not json",
                           content_type="application/json", **bearer(key))
    assert response.status_code == 400
    assert report_of(client, key)["items"][0]["state"] == "open"


def test_another_sources_item_is_404_as_if_absent_and_another_sources_path_403(client, school):
    key, gp_key = school
    item = report_of(client, key)["items"][0]["id"]
    theirs = answer(client, gp_key, item, "acknowledge", source="camden-gp")
    absent = answer(client, gp_key, 10**9, "acknowledge", source="camden-gp")
    assert theirs.status_code == absent.status_code == 404 and theirs.json() == absent.json()
    assert answer(client, gp_key, item, "dispute", {"reason": REASON}, source="camden-gp").status_code == 404
    assert answer(client, gp_key, item, "acknowledge").status_code == 403  # the school's path
    assert answer(client, key, 0, "acknowledge").status_code == 422  # not an ID at all
    assert {i["state"] for i in report_of(client, key)["items"]} == {"open"}
    refused = AuditEntry.objects.filter(actor="source:camden-gp", outcome="refused")
    assert sorted(e.action for e in refused) == ["auth.access.refused", "feed.discrepancy.acknowledged",
                                                 "feed.discrepancy.acknowledged", "feed.discrepancy.disputed"]


def test_the_report_is_paged_and_filtered_with_the_total(client, school):
    key, _ = school
    everything = report_of(client, key)
    assert (everything["total"], everything["page"], everything["per_page"]) == (3, 1, 100)
    ids = [i["id"] for i in everything["items"]]
    pages = [report_of(client, key, per_page=2, page=p) for p in (1, 2, 3)]
    assert [[i["id"] for i in p["items"]] for p in pages] == [ids[:2], ids[2:], []]
    assert {p["total"] for p in pages} == {3}
    invalid = report_of(client, key, kind="invalid")
    assert invalid["total"] == 2 and {i["field"] for i in invalid["items"]} == {"nhs_number"}
    assert {i["kind"] for i in invalid["items"]} == {"invalid"}
    assert report_of(client, key, field="date_of_birth")["total"] == 1
    answer(client, key, ids[1], "acknowledge")
    assert [i["id"] for i in report_of(client, key, state="acknowledged")["items"]] == [ids[1]]
    assert report_of(client, key, state="open", kind="invalid")["total"] == 1
    for bad in ({"per_page": 501}, {"page": 0}, {"kind": "other"}, {"state": "closed"}, {"pgae": 2}):
        response = client.get("/api/v1/feeds/agar-grove-mis/discrepancies", bad, **bearer(key))
        assert response.status_code == 422 and response.json()["code"] == "invalid", bad
    entry = AuditEntry.objects.filter(action="feed.discrepancy.fetched").order_by("-seq").first()
    assert entry.context == {"source": "agar-grove-mis", "items": 1, "total": 1, "limit": 100, "kind": "invalid",
                             "state": "open", "api": True}


def test_answering_a_shielded_childs_item_reveals_nothing_new(client, school):
    key, _ = school
    Child.objects.update(shielded=True)
    [item] = report_of(client, key, field="date_of_birth")["items"]
    for response in (answer(client, key, item["id"], "acknowledge"),
                     answer(client, key, item["id"], "dispute", {"reason": REASON})):
        assert response.status_code == 200
        body = response.content.decode()
        assert "Others hold" not in body
        for value in ("2015-06-03", "Amelia", "Hartley", "NW1", "Agar Grove", "London", "9434765919", "SC-1"):
            assert value not in body
