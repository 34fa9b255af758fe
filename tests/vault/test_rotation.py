from __future__ import annotations

import pytest

from contactpoint.audit.actions import AuditAction
from contactpoint.audit.trail import Actor, forget_detail_keys, read_detail, record_event
from contactpoint.children.models import Child
from contactpoint.children.store import NewChild, create_children, load_record, shred
from contactpoint.errors import VaultError
from contactpoint.lifecycle.rotation import rotate_keys
from contactpoint.vault.cipher import open_child_key
from contactpoint.vault.models import DataKey
from tests.factories import make_record

pytestmark = pytest.mark.django_db


def _children(keyring, now, n=25) -> list[Child]:
    created = create_children(keyring, [NewChild(make_record(given=f"Child{i}"), responsible_la="202")
                                         for i in range(n)], now=now)
    return list(Child.objects.filter(cpid__in=[c.cpid for c in created]))


def test_rotation_rewraps_every_key_and_destroys_the_old_kek(keyring, now):
    children = _children(keyring, now)
    entry = record_event(AuditAction.SEARCH, actor=Actor("alice"), keyring=keyring, detail={"family": "Hartley"})
    old = keyring.active_kek_id
    result = rotate_keys(keyring, batch_size=7)
    assert result.data_keys == 25 and result.detail_keys == 1 and result.destroyed == (old,)
    assert set(DataKey.objects.values_list("kek_id", flat=True)) == {keyring.active_kek_id}
    forget_detail_keys()
    for child in children:
        assert load_record(keyring, Child.objects.get(pk=child.pk)).name.value.family == "Hartley"
    assert read_detail(keyring, entry) == {"family": "Hartley"}


class Killed(Exception):
    pass


def test_a_rotation_killed_half_way_resumes_and_every_record_still_decrypts(keyring, now):
    children = _children(keyring, now)
    old = keyring.active_kek_id

    def die_after_two_batches(moved: int) -> None:
        if moved >= 10:
            raise Killed

    with pytest.raises(Killed):
        rotate_keys(keyring, batch_size=5, on_batch=die_after_two_batches)
    assert keyring.retiring_kek_ids == (old,)
    kek_ids = list(DataKey.objects.values_list("kek_id", flat=True))
    assert kek_ids.count(keyring.active_kek_id) == 10 and kek_ids.count(old) == 15
    for child in children:  # mid-rotation, both KEKs are in the ring and everything opens
        load_record(keyring, Child.objects.get(pk=child.pk))

    result = rotate_keys(keyring, batch_size=5)
    assert result.resumed and result.data_keys == 15 and result.destroyed == (old,)
    for child in children:
        load_record(keyring, Child.objects.get(pk=child.pk))


def test_a_shredded_child_cannot_be_decrypted_from_a_copy_taken_before_deletion_once_the_ring_rotates(
        keyring, now):
    [child] = _children(keyring, now, n=1)
    backup_row = Child.objects.get(pk=child.pk)  # the "backup": ciphertext and wrapped key as they were
    backup_key = DataKey.objects.get(child_id=child.pk)
    assert load_record(keyring, backup_row).name.value.family == "Hartley"

    shred(child)
    rotate_keys(keyring)

    with pytest.raises(VaultError):
        open_child_key(keyring, backup_row.cpid, backup_key.kek_id, bytes(backup_key.wrapped))


@pytest.mark.django_db(False)
def test_two_processes_changing_the_key_ring_never_undo_each_others_changes(tmp_path):
    """A rotation (one process) and the lifecycle run adding a deletion-month key (another) at once."""
    import threading

    from contactpoint.vault.keyring import FileKeyRing, create_keyring_file

    path = tmp_path / "keyring.json"
    create_keyring_file(path)
    rotation, lifecycle = FileKeyRing(path), FileKeyRing(path)  # each holds its own copy, as a process would
    start = threading.Barrier(2)

    def rotate():
        start.wait()
        rotation.begin_rotation()

    def add_retention_keys():
        start.wait()
        for month in range(1, 13):
            lifecycle.retention_kek(f"2032-{month:02d}")

    threads = [threading.Thread(target=rotate), threading.Thread(target=add_retention_keys)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    final = FileKeyRing(path)
    assert len(final.retention_kek_ids) == 12
    assert len(final.retiring_kek_ids) == 1 and final.active_kek_id == rotation.active_kek_id
    final.destroy_retiring()
    assert len(FileKeyRing(path).retention_kek_ids) == 12
