"""A child's whole life in the index, on a fixed clock: born, fed by three sources, shielded and unshielded,
archived at 18, sealed at 19, deleted at 24, with the key gone from every copy of the database."""

from __future__ import annotations

import sqlite3
from datetime import date

import pytest
from django.db import connection

from contactpoint.access.reasons import parse_reason
from contactpoint.audit.checkpoints import verify_trail
from contactpoint.audit.models import AuditEntry
from contactpoint.children.models import Child, ChildStatus, SourceRecord
from contactpoint.errors import LifecycleError, NotFound, VaultError
from contactpoint.lifecycle import archive, shielding
from contactpoint.lifecycle.models import ShieldDecision
from contactpoint.lifecycle.shielding import BodyView, Proposal, ThreatLevel
from contactpoint.records.view import view_record
from contactpoint.vault.cipher import dek_context
from contactpoint.vault.models import DataKey, IndexEntry
from tests.lifecycle.support import at, feed, find, lifecycle_run, now, people, row, send, three_sources

pytestmark = pytest.mark.django_db
BORN = date(2012, 5, 20)
BY_NAME = {"family": "Hartley", "birthdate": "2012-05-20"}
BY_POSTCODE = {"given": "Amelia", "birthdate": "2012-05-20", "gender": "female", "postcode": "NW1 8NP"}


def proposal(review_on: date | None) -> Proposal:
    return Proposal(reason="Mother and child fled domestic violence; the father is looking for them.",
                    threat=ThreatLevel.HIGH, child_view="Wants to stay at her school and not be found.",
                    carer_view="Asked for the shield.",
                    bodies=(BodyView("Camden Health Centre", "Practice manager", date(2021, 2, 20),
                                     "Supports shielding."),), review_on=review_on)


def view(user, cpid):
    return view_record(user, cpid, parse_reason("child_protection"), keyring=_ring(), now=now())


def _ring():
    from contactpoint.vault.keyring import get_keyring

    return get_keyring()


def copy_database(path) -> dict[str, list[tuple]]:
    """What a backup taken now would hold of the children's keys and sealed data. On SQLite it is a real copy of
    the database file (the sqlite3 backup API, the test committing as it goes); on PostgreSQL, the same rows read
    out."""
    tables = {"keys": "SELECT child_id, kek_id, wrapped FROM vault_data_key",
              "children": "SELECT id, cpid, names FROM children_child"}
    if connection.vendor == "sqlite":
        connection.ensure_connection()
        copy = sqlite3.connect(path)
        connection.connection.backup(copy)
        out = {name: [tuple(bytes(v) if isinstance(v, memoryview) else v for v in r)
                      for r in copy.execute(sql).fetchall()] for name, sql in tables.items()}
        copy.close()
        return out
    with connection.cursor() as cursor:
        out = {}
        for name, sql in tables.items():
            cursor.execute(sql)
            out[name] = [tuple(bytes(v) if isinstance(v, memoryview) else v for v in r) for r in cursor.fetchall()]
        return out


def openable(ring, backup, cpid: str) -> bool:
    from contactpoint.vault.cipher import ChildCipher

    child_id = next(r[0] for r in backup["children"] if r[1] == cpid)
    kek_id, wrapped = next((r[1], r[2]) for r in backup["keys"] if r[0] == child_id)
    try:
        key = ring.unwrap(kek_id, wrapped, dek_context(cpid))
    except VaultError:
        return False
    names = next(r[2] for r in backup["children"] if r[1] == cpid)
    return b"Hartley" in ChildCipher(cpid, key).open("names", names)


@pytest.mark.django_db(transaction=True)
def test_a_childs_whole_life_from_three_sources_to_deletion_at_24(ring, tmp_path):
    with at(date(2020, 6, 1)):  # age 8: three sources send her
        dm1, dm2, worker = people()
        gp, _school, _benefit = three_sources()
        [child] = Child.objects.all()
        cpid = child.cpid
        assert SourceRecord.objects.filter(child=child).count() == 3
        assert find(worker, **BY_POSTCODE) == [cpid]

    with at(date(2021, 3, 1)):  # shielded: proposed, then approved by a second officer
        decision = shielding.propose(dm1, cpid, ShieldDecision.Kind.SHIELD, proposal(date(2021, 9, 1)),
                                     keyring=ring, now=now())
        assert not Child.objects.get(pk=child.pk).shielded  # a proposal alone changes nothing
        assert find(worker, **BY_POSTCODE) == [cpid]
        with pytest.raises(LifecycleError, match="second authorised officer"):
            shielding.decide(dm1, decision.pk, approve=True, note="", keyring=ring, now=now())
        shielding.decide(dm2, decision.pk, approve=True, note="Agreed.", keyring=ring, now=now())
        assert find(worker, **BY_POSTCODE) == []  # a postcode never finds a shielded child
        assert find(worker, **BY_NAME) == [cpid]
        seen = view(worker, cpid)
        assert seen.withheld and seen.record.whereabouts is None and seen.record.gp is None

    with at(date(2021, 6, 1)):  # the GP sends a new address: still hidden
        send(gp, feed(**{"GP-1": row(address="3 Hidden Mews", postcode="NW5 1TL", gp_practice_code="F83004",
                                     gp_practice_name="Camden Health Centre", gp_start_date="2012-06-01")}))
        assert Child.objects.get(pk=child.pk).shielded
        assert find(worker, given="Amelia", birthdate="2012-05-20", gender="female", postcode="NW5 1TL") == []
        seen = view(worker, cpid)
        assert seen.record.whereabouts is None and "Hidden Mews" not in repr(seen)

    with at(date(2021, 9, 2)):  # the review date has come
        assert [d.child.cpid for d in shielding.reviews_due("202", now().date())] == [cpid]

    with at(date(2022, 1, 10)):  # unshielded the same way
        stop = shielding.propose(dm2, cpid, ShieldDecision.Kind.UNSHIELD, proposal(None), keyring=ring, now=now())
        assert Child.objects.get(pk=child.pk).shielded
        shielding.decide(dm1, stop.pk, approve=True, note="", keyring=ring, now=now())
        assert find(worker, given="Amelia", birthdate="2012-05-20", gender="female", postcode="NW5 1TL") == [cpid]
        assert shielding.reviews_due("202", now().date()) == []

    with at(date(2030, 5, 19)):  # the day before her 18th birthday
        assert lifecycle_run().archived == []
        assert find(worker, **BY_NAME) == [cpid]

    with at(date(2030, 5, 20)):  # 18: archived, out of every search, visible to the data manager
        report = lifecycle_run()
        assert report.archived == [cpid]
        assert Child.objects.get(pk=child.pk).status == ChildStatus.ARCHIVED
        assert find(worker, **BY_NAME) == [] and find(worker, contactpoint_id=cpid) == []
        assert not IndexEntry.objects.filter(child_id=child.pk).exists()
        with pytest.raises(NotFound):
            view(worker, cpid)
        [entry] = archive.archived_records(dm1, keyring=ring, now=now())
        assert (entry.cpid, entry.name, entry.archived_on) == (cpid, "Amelia Hartley", date(2030, 5, 20))
        record, _info = archive.view_archived(dm1, cpid, "Checking a request from the leaving care team",
                                             keyring=ring, now=now())
        assert record.record.whereabouts.value.address.postcode == "NW5 1TL"
        assert lifecycle_run().archived == []  # idempotent

    with at(date(2031, 5, 19)):
        assert lifecycle_run().sealed == []
    with at(date(2031, 5, 20)):  # 19: sealed, gone from the archive list
        assert lifecycle_run().sealed == [cpid]
        assert archive.archived_records(dm1, keyring=ring, now=now()) == []

    with at(date(2035, 1, 1)):  # a backup is taken
        backup = copy_database(tmp_path / "backup.sqlite3")
        assert openable(ring, backup, cpid)

    with at(date(2036, 5, 19)):
        assert lifecycle_run().deleted == []
    with at(date(2036, 5, 20)):  # 24: six years after archiving, deleted by crypto-shredding
        report = lifecycle_run()
        assert report.deleted == [cpid] and report.keys_destroyed == ["ret-2036-05"]
        assert not Child.objects.filter(pk=child.pk).exists()
        assert not SourceRecord.objects.exists() and not DataKey.objects.exists()
        assert not IndexEntry.objects.exists() and not ShieldDecision.objects.exists()
        assert not openable(ring, backup, cpid)  # the backup's wrapped key can never be opened again
        assert copy_database(tmp_path / "after.sqlite3") == {"keys": [], "children": []}
        assert verify_trail(ring).intact
        # Only IDs are left: no entry holds her name in clear.
        for entry in AuditEntry.objects.filter(subjects__contains=[cpid]) if connection.vendor == "postgresql" \
                else AuditEntry.objects.all():
            assert "Hartley" not in f"{entry.context} {entry.reason} {entry.subjects} {entry.detail}"
        assert lifecycle_run().deleted == []
