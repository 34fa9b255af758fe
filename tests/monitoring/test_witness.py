"""Checkpoint witnessing and the trail's health: truncating or rewriting the trail is caught by the monitor even
when the attacker can change everything in the database; checkpoints that stop coming raise an alert; and the
worker, left running, judges a new entry within 60 seconds."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from contactpoint.audit.actions import AuditAction, Severity
from contactpoint.audit.models import AuditCheckpoint, AuditEntry
from contactpoint.audit.trail import Actor, record_event
from contactpoint.monitoring.health import WITNESS_FILE, check_health, check_witness, trail_health
from contactpoint.monitoring.models import Alert
from contactpoint.monitoring.thresholds import MonitorSettings
from contactpoint.monitoring.worker import run
from tests.audit.test_trail import _tamper

ALICE = Actor("alice", "LA-202", "sch3-1a")


def _entries(keyring, n: int) -> None:
    for i in range(n):
        record_event(AuditAction.SEARCH, actor=ALICE, keyring=keyring, reason="referral", subjects=[f"1{i:010d}X"])


@pytest.fixture
def ring(monkeypatch, keyring):
    # The command uses the process's key ring: make it the test's.
    monkeypatch.setattr("contactpoint.monitoring.management.commands.audit.get_keyring", lambda: keyring)
    return keyring


@pytest.mark.django_db
class TestWitness:
    def test_a_checkpoint_goes_to_the_witness_directory_and_agrees_with_the_trail(self, ring, tmp_path):
        _entries(ring, 5)
        call_command("audit", "checkpoint", "--witness-dir", str(tmp_path))
        assert len((tmp_path / WITNESS_FILE).read_text().splitlines()) == 1
        assert check_witness(ring, tmp_path) == ""
        call_command("audit", "verify", "--witness-dir", str(tmp_path))

    def test_truncating_the_trail_and_its_head_is_caught(self, ring, tmp_path):
        _entries(ring, 6)
        call_command("audit", "checkpoint", "--witness-dir", str(tmp_path))
        # The attacker deletes the tail, moves the head back and removes the checkpoints kept in the database.
        _tamper("DELETE FROM audit_entry WHERE seq > 3")
        last = AuditEntry.objects.get(seq=3)
        _tamper("UPDATE audit_head SET seq = 3, hash = %s", [last.hash])
        _tamper("DELETE FROM audit_checkpoint")
        assert "truncated" in check_witness(ring, tmp_path)
        with pytest.raises(CommandError, match="truncated"):
            call_command("audit", "verify", "--witness-dir", str(tmp_path))

    def test_rewriting_and_rehashing_the_trail_is_caught(self, ring, tmp_path):
        _entries(ring, 6)
        call_command("audit", "checkpoint", "--witness-dir", str(tmp_path))
        seq = AuditCheckpoint.objects.get().seq
        _tamper("UPDATE audit_entry SET hash = %s WHERE seq = %s", ["f" * 64, seq])
        _tamper("DELETE FROM audit_checkpoint")
        assert "rewritten" in check_witness(ring, tmp_path)

    def test_the_monitor_raises_an_alert_when_the_witness_disagrees(self, ring, tmp_path):
        _entries(ring, 4)
        call_command("audit", "checkpoint", "--witness-dir", str(tmp_path))
        _tamper("DELETE FROM audit_entry WHERE seq > 2")
        problems = check_health(ring, MonitorSettings(witness_dir=tmp_path), datetime.now(UTC))
        assert any("truncated" in p for p in problems)
        alert = Alert.objects.get(rule="audit_trail", key__startswith="audit_trail:witness")
        assert "truncated" in alert.evidence["problem"] and alert.subject_org == ""
        assert not trail_health().witness.ok

    def test_checkpoints_that_stop_coming_raise_an_alert(self, ring, tmp_path):
        _entries(ring, 3)
        call_command("audit", "checkpoint", "--witness-dir", str(tmp_path))
        later = datetime.now(UTC) + timedelta(hours=3)
        check_health(ring, MonitorSettings(witness_dir=tmp_path), later)
        alert = Alert.objects.get(key__startswith="audit_trail:checkpoints")
        assert "no checkpoint since" in alert.evidence["problem"]
        # Once is enough: the same silence does not raise it again.
        check_health(ring, MonitorSettings(witness_dir=tmp_path), later + timedelta(minutes=5))
        assert Alert.objects.filter(key__startswith="audit_trail:checkpoints").count() == 1

    def test_a_healthy_trail_raises_nothing_and_is_walked_and_recorded(self, ring, tmp_path):
        _entries(ring, 3)
        call_command("audit", "checkpoint", "--witness-dir", str(tmp_path))
        assert check_health(ring, MonitorSettings(witness_dir=tmp_path), datetime.now(UTC)) == []
        health = trail_health()
        assert health.verified_ok and health.last_checkpoint is not None and health.chain_length >= 4
        assert not Alert.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_worker_judges_a_new_entry_within_60_seconds(keyring):
    from contactpoint.access.authentication import user_actor
    from tests.factories import make_person

    actor = user_actor(make_person("cp.worker").user)
    stop = threading.Event()
    worker = threading.Thread(target=run, args=(keyring, MonitorSettings()),
                              kwargs={"interval": 0.5, "stop": stop, "health": False}, daemon=True)
    worker.start()
    try:
        time.sleep(1)
        written = time.monotonic()
        record_event(AuditAction.SHIELD_OVERRIDE, actor=actor, keyring=keyring, reason="child_protection",
                     subjects=["100000000012"], severity=Severity.ALERT)
        while time.monotonic() - written < 60 and not Alert.objects.filter(rule="shield_override").exists():
            time.sleep(0.1)
        seen = time.monotonic() - written
    finally:
        stop.set()
        worker.join(10)
    assert Alert.objects.filter(rule="shield_override").exists(), "the worker did not see the entry in 60 s"
    print(f"\nnew audit entry judged by the worker in {seen:.2f} s")
    assert seen < 60
