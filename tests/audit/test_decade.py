"""The audit trail for a decade (issue 17): a request id on every entry, verification from the last signed
checkpoint, the full walk a slice at a time, monthly partitions on PostgreSQL, and the reports served by indexes."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, date, datetime, timedelta
from ipaddress import ip_network

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client

from contactpoint import correlation
from contactpoint.audit import partitions
from contactpoint.audit.actions import AuditAction
from contactpoint.audit.checkpoints import verify_recent, verify_trail, write_checkpoint
from contactpoint.audit.models import AuditEntry, AuditVerification
from contactpoint.audit.trail import Actor, record_event
from contactpoint.config import get_settings
from contactpoint.errors import AuditError
from contactpoint.monitoring.health import FULL_WALK, full_walk_step
from contactpoint.monitoring.models import Alert, MonitorState
from contactpoint.monitoring.thresholds import MonitorSettings
from tests.audit.test_trail import _tamper

pytestmark = pytest.mark.django_db
ALICE = Actor("alice", "LA-202", "sch3-1a")
NOW = datetime(2026, 12, 5, 10, 0, tzinfo=UTC)


def _append(keyring, n: int, at: datetime = NOW) -> list[AuditEntry]:
    return [record_event(AuditAction.RECORD_VIEWED, actor=ALICE, keyring=keyring, subjects=[f"10000000{i:04d}"],
                         context={"i": i}, at=at, linked=True) for i in range(n)]


# --- request ids -----------------------------------------------------------------------------------------------

def test_every_entry_a_request_writes_carries_the_request_id_the_response_names(client, keyring):
    response = client.post("/sign-in", {"username": "nobody", "password": "wrong-password-1", "pin": "000000",
                                        "code": "000000"})
    request_id = response["X-Request-ID"]
    entries = list(AuditEntry.objects.filter(request_id=request_id))
    assert len(request_id) == 32 and entries and {e.action for e in entries} >= {"auth.login.failed"}
    # Another request, another id.
    assert client.get("/sign-in")["X-Request-ID"] != request_id


def test_a_request_id_is_taken_from_the_trusted_proxy_only(monkeypatch):
    monkeypatch.setattr("contactpoint.config._settings", dataclasses.replace(
        get_settings(), trusted_proxies=(ip_network("10.0.0.0/24"),)))
    through_proxy = Client(REMOTE_ADDR="10.0.0.5").get("/sign-in", HTTP_X_REQUEST_ID="lb-7f3a-0001")
    assert through_proxy["X-Request-ID"] == "lb-7f3a-0001"
    spoofed = Client(REMOTE_ADDR="192.0.2.44").get("/sign-in", HTTP_X_REQUEST_ID="lb-7f3a-0001")
    assert spoofed["X-Request-ID"] != "lb-7f3a-0001"
    # Not a plain token (it would reach the logs as it is): replaced even from the proxy.
    odd = Client(REMOTE_ADDR="10.0.0.5").get("/sign-in", HTTP_X_REQUEST_ID="id with spaces <script>")
    assert odd["X-Request-ID"] != "id with spaces <script>"


def test_a_command_s_entries_share_one_id_and_the_hash_covers_it(keyring, monkeypatch):
    monkeypatch.setattr("contactpoint.monitoring.management.commands.audit.get_keyring", lambda: keyring)
    call_command("audit", "checkpoint")
    call_command("audit", "checkpoint")
    first, second = AuditEntry.objects.filter(action=AuditAction.CHECKPOINT_WRITTEN).order_by("seq")
    assert first.request_id.startswith("cli:") and first.request_id != second.request_id
    with correlation.scope("req-1"):
        entry = _append(keyring, 1)[0]
    assert AuditEntry.objects.get(seq=entry.seq).request_id == "req-1"
    assert verify_trail(keyring).intact
    # Changing which request an entry belongs to is tampering like any other.
    _tamper("UPDATE audit_entry SET request_id = 'req-2' WHERE seq = %s", [entry.seq])
    verdict = verify_trail(keyring)
    assert not verdict.intact and verdict.first_bad_seq == entry.seq


# --- verification from the last signed checkpoint ---------------------------------------------------------------

def test_verify_walks_only_what_was_written_since_the_last_signed_checkpoint_it_passed(keyring):
    _append(keyring, 10)
    assert verify_recent(keyring).entries == 10  # nothing verified yet: from the first entry
    write_checkpoint(keyring)  # signs entry 10
    _append(keyring, 4)  # entries 11 to 14
    verdict = verify_recent(keyring)
    assert verdict.intact and verdict.from_seq == 10 and verdict.entries == 4
    assert "since the signed checkpoint at entry 10" in str(verdict)
    row = AuditVerification.objects.order_by("-id").first()
    assert (row.full, row.from_seq, row.last_seq) == (False, 10, 14)


def test_the_walk_reads_awkward_entries_as_they_were_linked_and_notices_a_microsecond(keyring):
    """The walk reads the time and JSON as the database's text (the fast way on PostgreSQL): entries holding
    what JSON escapes, non-ASCII, nested objects, big integers and a time on the whole second verify intact,
    and moving an entry's time by a microsecond is still an alteration."""
    awkward = {"name": "Zoë \"Bo\" O'Neil\t\u0001\u2028😀", "nested": {"z": [1, None, True], "a": {"b": -(2**53) + 1}},
               "when": "2026-12-05"}
    for at, context in ((NOW, awkward), (NOW.replace(microsecond=123456), {}), (NOW, {"list": []})):
        record_event(AuditAction.RECORD_VIEWED, actor=ALICE, keyring=keyring, subjects=["1000000000001", "9"],
                     context=context, at=at, linked=True)
    assert verify_trail(keyring).intact
    _tamper("UPDATE audit_entry SET at = %s WHERE seq = 2",
            [connection.ops.adapt_datetimefield_value(NOW.replace(microsecond=123457))])
    verdict = verify_trail(keyring)
    assert not verdict.intact and verdict.first_bad_seq == 2


def test_verify_from_a_checkpoint_still_catches_what_was_changed_after_it_and_at_it(keyring):
    _append(keyring, 6)
    verify_recent(keyring)
    write_checkpoint(keyring)  # entry 6
    _append(keyring, 3)
    _tamper("UPDATE audit_entry SET actor = 'mallory' WHERE seq = 8")
    verdict = verify_recent(keyring)
    assert not verdict.intact and verdict.first_bad_seq == 8
    _tamper("UPDATE audit_entry SET actor = 'alice' WHERE seq = 8")
    _tamper("UPDATE audit_entry SET actor = 'mallory' WHERE seq = 6")  # the checkpoint's own entry
    verdict = verify_recent(keyring)
    assert not verdict.intact and "differs from the signed checkpoint" in verdict.problem


def test_an_entry_before_the_checkpoint_is_the_full_walk_s_to_find(keyring):
    _append(keyring, 6)
    verify_recent(keyring)
    write_checkpoint(keyring)
    _tamper("UPDATE audit_entry SET actor = 'mallory' WHERE seq = 2")
    assert verify_recent(keyring).intact  # it starts at entry 6: as documented, not its part
    verdict = verify_trail(keyring)
    assert not verdict.intact and verdict.first_bad_seq == 2


def test_a_head_set_back_over_entries_still_there_is_caught(keyring):
    entries = _append(keyring, 5)
    _tamper("UPDATE audit_head SET seq = 3, hash = %s", [entries[2].hash])
    verdict = verify_trail(keyring)
    assert not verdict.intact and "entries after its head (entry 3)" in verdict.problem


# --- the full walk in slices -----------------------------------------------------------------------------------

def _walk_settings(**kwargs) -> MonitorSettings:
    return dataclasses.replace(MonitorSettings(), **kwargs)


def test_the_full_walk_goes_a_slice_at_a_time_and_records_the_whole_walk(keyring, monkeypatch):
    _append(keyring, 2500)
    ticks = iter(range(0, 10**6, 7))  # each look at the clock: 7 seconds later
    monkeypatch.setattr("contactpoint.monitoring.health.time.monotonic", lambda: next(ticks))
    settings = _walk_settings(full_walk_slice_seconds=5)
    said = [full_walk_step(keyring, settings, NOW)]
    while said[-1].startswith("walked to"):
        said.append(full_walk_step(keyring, settings, NOW))
    assert said[0] == "walked to entry 1000 (1000 entries so far)" and len(said) == 3
    assert said[-1].startswith("audit trail intact: 2500 entries")
    full = AuditVerification.objects.get(full=True)
    assert full.intact and full.entries == 2500 and not MonitorState.objects.filter(key=FULL_WALK).exists()
    # Not due again until a day has passed.
    assert full_walk_step(keyring, settings, NOW + timedelta(hours=1)) == "not due"
    assert AuditEntry.objects.filter(action=AuditAction.AUDIT_VERIFIED, context__by="full-walk").count() == 1


def test_a_break_the_walk_had_passed_or_meets_is_an_alert(keyring, monkeypatch):
    _append(keyring, 2500)
    ticks = iter(range(0, 10**6, 7))
    monkeypatch.setattr("contactpoint.monitoring.health.time.monotonic", lambda: next(ticks))
    settings = _walk_settings(full_walk_slice_seconds=5)
    full_walk_step(keyring, settings, NOW)  # to entry 1000
    _tamper("UPDATE audit_entry SET actor = 'mallory' WHERE seq = 1000")  # where it resumes
    said = full_walk_step(keyring, settings, NOW)
    assert said.startswith("audit trail NOT intact: entry 1000")
    assert Alert.objects.filter(rule="audit_trail").exists()
    assert not AuditVerification.objects.get(full=True).intact


def test_a_break_the_full_walk_found_stays_on_the_auditors_page_after_later_checks_pass(keyring, monkeypatch):
    from contactpoint.monitoring.health import trail_health

    _append(keyring, 5)
    _tamper("UPDATE audit_entry SET actor = 'mallory' WHERE seq = 2")
    full_walk_step(keyring, _walk_settings(), NOW)
    write_checkpoint(keyring)
    AuditVerification.objects.create(at=NOW + timedelta(hours=1), intact=True, entries=0, full=False, from_seq=5,
                                     last_seq=5, message="intact")  # a later check of the newest entries
    health = trail_health()
    assert not health.verified_ok and "entry 2" in health.last_full.message


# --- partitions (PostgreSQL) ------------------------------------------------------------------------------------

@pytest.mark.postgres
def test_entries_go_to_their_month_s_partition_and_the_chain_runs_across_them(keyring):
    for month in (1, 2, 3):
        _append(keyring, 2, at=datetime(2027, month, 15, tzinfo=UTC))
    _append(keyring, 1, at=datetime(1999, 1, 1, tzinfo=UTC))  # a wrong clock: the default partition
    with connection.cursor() as cursor:
        cursor.execute("SELECT tableoid::regclass::text, count(*) FROM audit_entry GROUP BY 1 ORDER BY 1")
        where = dict(cursor.fetchall())
    assert {k: v for k, v in where.items() if k.startswith("audit_entry_y2027")} == {
        "audit_entry_y2027m01": 2, "audit_entry_y2027m02": 2, "audit_entry_y2027m03": 2}
    assert where["audit_entry_default"] >= 1
    assert verify_trail(keyring).intact


@pytest.mark.postgres
def test_partitions_are_kept_a_year_ahead_and_an_ended_month_can_be_moved(keyring):
    made = partitions.ensure(date(2031, 6, 20))
    assert made[0] == "audit_entry_y2031m06" and made[-1] == "audit_entry_y2032m06" and len(made) == 13
    assert partitions.ensure(date(2031, 6, 20)) == []  # already there
    months = {p.month for p in partitions.listing()}
    assert {"2031-06", "2032-06", "default"} <= months
    _append(keyring, 3, at=datetime(2031, 6, 21, tzinfo=UTC))
    with pytest.raises(AuditError, match="has ended"):
        partitions.move("2031-06", "pg_default", today=date(2031, 6, 21))
    with pytest.raises(AuditError, match="no tablespace"):
        partitions.move("2031-06", "cold_storage", today=date(2031, 8, 1))
    with pytest.raises(AuditError, match="not a month"):
        partitions.move("2031-13", "pg_default", today=date(2031, 8, 1))
    assert partitions.move("2031-06", "pg_default", today=date(2031, 8, 1)) == "audit_entry_y2031m06"
    assert verify_trail(keyring).intact


@pytest.mark.postgres
@pytest.mark.parametrize("statement", ["TRUNCATE audit_entry_y2027m01", "DELETE FROM audit_entry_y2027m01",
                                       "UPDATE audit_entry_y2027m01 SET actor = 'x'"])
def test_a_partition_is_append_only_like_the_trail(keyring, statement):
    from django.db import DatabaseError, transaction

    _append(keyring, 1, at=datetime(2027, 1, 15, tzinfo=UTC))
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement)


@pytest.mark.postgres
def test_the_access_reports_are_answered_from_indexes(keyring):
    """With the planner told to avoid reading whole tables, each report's query uses its index: a query that
    could not (the text match the reports used before) would still scan."""
    from contactpoint.monitoring.reports import naming

    _append(keyring, 5)
    child = naming("100000000003").filter(action__in=["child.record.viewed"]).order_by("-seq")
    by_user = AuditEntry.objects.filter(actor="alice").order_by("-seq")[:50]
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        for query, column in ((child, "subjects"), (by_user, "actor")):
            sql, params = query.query.sql_with_params()
            cursor.execute("EXPLAIN (FORMAT JSON) " + sql, params)
            plan = json.dumps(cursor.fetchone()[0])
            assert '"Seq Scan"' not in plan and f"_{column}_" in plan, plan
