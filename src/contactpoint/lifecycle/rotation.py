"""Key ring rotation: re-wrap every data key (children's and held rows') and audit-detail key under a new KEK, then
destroy the old one.

Resumable: the ring records the old KEK as *retiring* before any key moves; each batch of re-wrapped keys
commits on its own; a run that is killed leaves some keys under the old KEK and some under the new, both still
in the ring, and the next run carries on from there. Only when no key remains under a retiring KEK is it
destroyed, and from then on anything it wrapped (in a backup taken before, say) can never be opened.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db import connection, transaction

from contactpoint.audit.models import AuditDetailKey
from contactpoint.audit.trail import DETAIL_CONTEXT
from contactpoint.children.models import HeldRecord
from contactpoint.children.source_records import held_identity
from contactpoint.vault.cipher import dek_context
from contactpoint.vault.keyring import RETENTION_PREFIX, FileKeyRing
from contactpoint.vault.models import DataKey


@dataclass(frozen=True)
class RotationResult:
    new_kek_id: str
    resumed: bool
    data_keys: int
    detail_keys: int
    destroyed: tuple[str, ...]


def _rewrap_data_keys(keyring: FileKeyRing, batch_size: int, on_batch: Callable[[int], None]) -> int:
    moved = 0
    active = keyring.active_kek_id
    after = 0  # pages walk the primary key, so each costs the same however far the rotation has gone
    while True:
        with transaction.atomic():
            # Archived records' keys stay under their retention KEK (destroyed when they are deleted).
            batch = list(DataKey.objects.filter(child_id__gt=after).exclude(kek_id=active)
                         .exclude(kek_id__startswith=RETENTION_PREFIX).select_related("child")
                         .only("child_id", "kek_id", "wrapped", "child__cpid").order_by("child_id")[:batch_size])
            if not batch:
                return moved
            rows = []
            for key in batch:
                context = dek_context(key.child.cpid)
                plain = keyring.unwrap(key.kek_id, bytes(key.wrapped), context)
                kek_id, wrapped = keyring.wrap(plain, context)
                rows.append((kek_id, wrapped, key.child_id))
            with connection.cursor() as cursor:
                cursor.executemany(f"UPDATE {DataKey._meta.db_table} SET kek_id = %s, wrapped = %s "
                                   "WHERE child_id = %s", rows)
            after = batch[-1].child_id
        moved += len(batch)
        on_batch(moved)


def _rewrap_held_keys(keyring: FileKeyRing) -> int:
    """Held rows' own data keys (``children.HeldRecord``): few, so in one transaction."""
    active = keyring.active_kek_id
    with transaction.atomic():
        batch = list(HeldRecord.objects.exclude(kek_id=active).only("id", "source", "record_key", "kek_id",
                                                                     "wrapped"))
        for held in batch:
            context = dek_context(held_identity(held.source, held.record_key))
            plain = keyring.unwrap(held.kek_id, bytes(held.wrapped), context)
            held.kek_id, held.wrapped = keyring.wrap(plain, context)
        HeldRecord.objects.bulk_update(batch, ["kek_id", "wrapped"])
    return len(batch)


def _rewrap_detail_keys(keyring: FileKeyRing) -> int:
    active = keyring.active_kek_id
    with transaction.atomic():
        batch = list(AuditDetailKey.objects.exclude(kek_id=active))
        for key in batch:
            context = DETAIL_CONTEXT + key.epoch.encode()
            plain = keyring.unwrap(key.kek_id, bytes(key.wrapped), context)
            key.kek_id, key.wrapped = keyring.wrap(plain, context)
        AuditDetailKey.objects.bulk_update(batch, ["kek_id", "wrapped"])
    return len(batch)


def rotate_keys(keyring: FileKeyRing, *, batch_size: int = 2000,
                on_batch: Callable[[int], None] = lambda moved: None) -> RotationResult:
    resumed = bool(keyring.retiring_kek_ids)
    if not resumed:
        keyring.begin_rotation()
    data_keys = _rewrap_data_keys(keyring, batch_size, on_batch)
    detail_keys = _rewrap_detail_keys(keyring)
    _rewrap_held_keys(keyring)
    remaining = DataKey.objects.exclude(kek_id=keyring.active_kek_id).exclude(
        kek_id__startswith=RETENTION_PREFIX).exists() or \
        AuditDetailKey.objects.exclude(kek_id=keyring.active_kek_id).exists() or \
        HeldRecord.objects.exclude(kek_id=keyring.active_kek_id).exists()
    if remaining:  # written meanwhile under a stale ring by another process: go round again
        return rotate_keys(keyring, batch_size=batch_size, on_batch=on_batch)
    destroyed = keyring.destroy_retiring()
    return RotationResult(keyring.active_kek_id, resumed, data_keys, detail_keys, destroyed)
