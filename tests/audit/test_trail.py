from __future__ import annotations

import json
import threading
from datetime import UTC, datetime

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, connections

from contactpoint.audit.actions import AuditAction
from contactpoint.audit.chain import GENESIS
from contactpoint.audit.checkpoints import (
    SignedCheckpoint,
    read_checkpoint_file,
    verify_trail,
    write_checkpoint,
)
from contactpoint.audit.models import AuditDetailKey, AuditEntry, AuditHead, AuditPending
from contactpoint.audit.trail import Actor, forget_detail_keys, read_detail, record_event
from contactpoint.errors import AuditError

ALICE = Actor("alice", "LA-202", "sch3-1a-social-services")


def _append(keyring, n: int, **kwargs) -> list[AuditEntry]:
    return [record_event(AuditAction.SEARCH, actor=ALICE, keyring=keyring, reason="child_protection",
                         subjects=[f"1000000000{i:02d}"], context={"results": i}, **kwargs) for i in range(n)]


def _tamper(sql: str, params=()) -> None:
    """What an attacker with database access does. On PostgreSQL the append-only trigger must be bypassed
    first, which needs superuser rights (the test database's owner has them)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = DEFAULT")


@pytest.mark.django_db
class TestChain:
    def test_entries_are_chained_from_the_genesis_hash(self, keyring):
        first, second = _append(keyring, 2)
        assert (first.seq, second.seq) == (1, 2)
        assert first.prev_hash == GENESIS and second.prev_hash == first.hash
        assert AuditHead.objects.get().seq == 2
        assert verify_trail(keyring).intact

    def test_a_changed_entry_is_named(self, keyring):
        _append(keyring, 5)
        _tamper("UPDATE audit_entry SET actor = 'mallory' WHERE seq = 3")
        verdict = verify_trail(keyring)
        assert not verdict.intact and verdict.first_bad_seq == 3
        assert "entry 3 has been altered" in verdict.problem

    def test_a_deleted_entry_is_named(self, keyring):
        _append(keyring, 5)
        _tamper("DELETE FROM audit_entry WHERE seq = 2")
        verdict = verify_trail(keyring)
        assert verdict.first_bad_seq == 2 and "entry 2 is missing" in verdict.problem

    def test_reordered_entries_are_caught(self, keyring):
        entries = _append(keyring, 5)
        # Swap the content of entries 2 and 4, keeping each position's seq.
        a, b = entries[1], entries[3]
        for target, source in ((a, b), (b, a)):
            _tamper("UPDATE audit_entry SET subjects = %s, context = %s, prev_hash = %s, hash = %s WHERE seq = %s",
                    [json.dumps(source.subjects), json.dumps(source.context), source.prev_hash, source.hash,
                     target.seq])
        verdict = verify_trail(keyring)
        assert verdict.first_bad_seq == 2

    def test_a_truncated_tail_is_caught_by_the_head(self, keyring):
        _append(keyring, 5)
        _tamper("DELETE FROM audit_entry WHERE seq > 3")
        verdict = verify_trail(keyring)
        assert not verdict.intact and "entries 4 onwards were truncated" in verdict.problem

    def test_a_truncated_tail_with_a_rewritten_head_is_caught_by_a_checkpoint(self, keyring, tmp_path):
        entries = _append(keyring, 5)
        witness = tmp_path / "witness.jsonl"
        write_checkpoint(keyring, witness)
        _tamper("DELETE FROM audit_entry WHERE seq > 3")
        _tamper("DELETE FROM audit_checkpoint")
        _tamper("UPDATE audit_head SET seq = 3, hash = %s", [entries[2].hash])
        assert verify_trail(keyring).intact  # the database alone now looks consistent...
        verdict = verify_trail(keyring, read_checkpoint_file(witness))
        assert not verdict.intact and "checkpoint covers entry 5" in verdict.problem  # ...the witness does not

    def test_a_rewritten_chain_with_recomputed_hashes_is_caught_by_a_checkpoint(self, keyring, tmp_path):
        from contactpoint.audit.chain import body_of_row, entry_hash

        _append(keyring, 4)
        witness = tmp_path / "witness.jsonl"
        write_checkpoint(keyring, witness)
        _tamper("DELETE FROM audit_checkpoint")
        prev = GENESIS
        for row in AuditEntry.objects.order_by("seq"):
            row.actor = "mallory" if row.seq == 2 else row.actor
            row.prev_hash = prev
            row.hash = entry_hash(body_of_row(row))
            _tamper("UPDATE audit_entry SET actor = %s, prev_hash = %s, hash = %s WHERE seq = %s",
                    [row.actor, row.prev_hash, row.hash, row.seq])
            prev = row.hash
        _tamper("UPDATE audit_head SET hash = %s", [prev])
        assert verify_trail(keyring).intact
        verdict = verify_trail(keyring, read_checkpoint_file(witness))
        assert not verdict.intact and "differs from the signed checkpoint" in verdict.problem

    def test_a_forged_checkpoint_is_refused(self, keyring):
        _append(keyring, 2)
        forged = SignedCheckpoint(2, "f" * 64, "2026-11-24T10:00:00.000000+00:00",
                                  write_checkpoint(keyring).key, "AAAA")
        with pytest.raises(AuditError, match="bad signature"):
            verify_trail(keyring, [forged])

    def test_personal_details_are_encrypted_and_outlive_their_key_only_as_ciphertext(self, keyring):
        [entry] = _append(keyring, 1, detail={"criteria": {"family": "Hartley", "birthdate": "2015-06-03"}})
        raw = AuditEntry.objects.filter(pk=entry.pk).values_list("detail", flat=True).get()
        assert "Hartley" not in raw
        assert read_detail(keyring, entry) == {"criteria": {"family": "Hartley", "birthdate": "2015-06-03"}}
        AuditDetailKey.objects.all().delete()  # the month's key is destroyed when its retention ends
        forget_detail_keys()
        assert read_detail(keyring, entry) is None
        assert verify_trail(keyring).intact

    def test_context_with_a_float_is_refused_because_its_json_is_not_stable(self, keyring):
        with pytest.raises(AuditError, match="float"):
            record_event(AuditAction.SEARCH, actor=ALICE, keyring=keyring, context={"score": 0.5})

    def test_an_entry_written_inside_work_that_rolls_back_leaves_no_gap(self, keyring):
        from django.db import transaction

        _append(keyring, 1)
        with pytest.raises(RuntimeError), transaction.atomic():
            _append(keyring, 1)
            raise RuntimeError("the caller's work failed")
        _append(keyring, 1)
        assert list(AuditEntry.objects.values_list("seq", flat=True)) == [1, 2]
        assert verify_trail(keyring).intact


@pytest.mark.django_db
def test_audit_verify_command_exits_non_zero_naming_the_first_bad_entry(tmp_path, settings):
    from contactpoint.vault.keyring import get_keyring

    ring = get_keyring()
    _append(ring, 3)
    call_command("audit", "verify")
    _tamper("UPDATE audit_entry SET reason = 'other' WHERE seq = 2")
    with pytest.raises(CommandError, match="entry 2 has been altered"):
        call_command("audit", "verify")


@pytest.mark.django_db
def test_audit_checkpoint_command_appends_to_the_witness_file(tmp_path):
    witness = tmp_path / "witness.jsonl"
    call_command("audit", "checkpoint", "--out", str(witness))
    call_command("audit", "checkpoint", "--out", str(witness))
    assert len(read_checkpoint_file(witness)) == 2
    call_command("audit", "verify", "--checkpoint", str(witness))


@pytest.mark.postgres
@pytest.mark.django_db
@pytest.mark.parametrize("statement", ["UPDATE audit_entry SET actor = 'x'", "DELETE FROM audit_entry",
                                       "TRUNCATE audit_entry"])
def test_postgres_refuses_to_change_or_delete_audit_entries(keyring, statement):
    from django.db import DatabaseError, transaction

    _append(keyring, 2)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(statement)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("head", ["present", "missing"])
def test_eight_concurrent_writers_make_one_gapless_chain(keyring, head):
    """Also from an empty trail with no head row yet (a new database): the writers race to create it."""
    if head == "missing":
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM audit_head")
    per_writer = 25
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def writer(n: int) -> None:
        try:
            barrier.wait()
            for i in range(per_writer):
                record_event(AuditAction.RECORD_VIEWED, actor=Actor(f"user{n}"), keyring=keyring,
                             context={"writer": n, "i": i}, at=datetime.now(UTC))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    seqs = list(AuditEntry.objects.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, 8 * per_writer + 1))
    assert verify_trail(keyring).intact


def _pending_row(**overrides) -> AuditPending:
    """An entry a writer committed and then died before seeing it linked."""
    fields = {"at": datetime(2026, 11, 24, 9, 0, tzinfo=UTC), "action": str(AuditAction.SEARCH),
              "outcome": "success", "severity": "info", "actor": "bob", "subjects": ["100000000001"],
              "context": {"results": 1, "fuzzy": True}, **overrides}
    return AuditPending.objects.create(**fields)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_entry_left_pending_by_a_dead_writer_is_linked_by_the_next_append(keyring):
    _append(keyring, 2)
    orphan = _pending_row()
    mine = record_event(AuditAction.RECORD_VIEWED, actor=ALICE, keyring=keyring)
    linked = AuditEntry.objects.get(pending_id=orphan.pk)
    assert (linked.seq, mine.seq) == (3, 4) and mine.prev_hash == linked.hash
    assert linked.actor == "bob" and linked.context == {"results": 1, "fuzzy": True}
    assert not AuditPending.objects.exists()
    assert verify_trail(keyring).intact


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_checkpoint_links_pending_entries_before_signing(keyring):
    _append(keyring, 1)
    _pending_row()
    checkpoint = write_checkpoint(keyring)
    assert checkpoint.seq == 2 and not AuditPending.objects.exists()
    assert verify_trail(keyring, [checkpoint]).intact


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_writer_that_finds_another_linking_commits_its_entry_and_goes_on(keyring):
    """Group commit: the entry is durable at once and linked as soon as the chain is free, in arrival order."""
    from contactpoint.audit.trail import _CHAIN_LOCK

    _append(keyring, 1)
    holding, release = threading.Event(), threading.Event()

    def linker_ahead() -> None:  # another writer in the middle of linking
        from django.db import transaction
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CHAIN_LOCK])
                holding.set()
                release.wait(30)
        finally:
            connections.close_all()

    results: dict[str, AuditEntry] = {}

    def writer(name: str, **kwargs) -> None:
        try:
            results[name] = record_event(AuditAction.RECORD_VIEWED, actor=Actor(name), keyring=keyring, **kwargs)
        finally:
            connections.close_all()

    ahead = threading.Thread(target=linker_ahead)
    ahead.start()
    assert holding.wait(30)
    quick = threading.Thread(target=writer, args=("quick",))
    quick.start()
    quick.join(30)
    assert not quick.is_alive(), "a writer waited for another's link"
    assert results["quick"].seq is None and AuditPending.objects.count() == 1  # durable, not yet linked
    patient = threading.Thread(target=writer, args=("patient",), kwargs={"linked": True})
    patient.start()
    patient.join(0.5)
    assert patient.is_alive()  # it asked for its place in the chain, so it waits for the chain
    release.set()
    ahead.join(30)
    patient.join(30)
    quick_entry = AuditEntry.objects.get(pending_id=results["quick"].pending_id)
    assert (quick_entry.seq, results["patient"].seq) == (2, 3)
    assert not AuditPending.objects.exists() and verify_trail(keyring).intact
