"""Crypto-shredding that reaches backups (DESIGN.md section 4).

Deleting a child's wrapped data key from the database does not help against a backup taken the day before: the
backup still holds the wrapped key, and the key ring can still unwrap it. So when a record is archived, its data
key is re-wrapped under a *retention KEK* for the month in which it is due for deletion (``ret-YYYY-MM``, kept in
the key ring, outside the database). When the last record of that month has been deleted, the KEK is destroyed,
and every copy of those wrapped keys, in any backup, can never be opened again. The month (not the day) keeps
the KEK's name from disclosing a date of birth, as ``Child.archived_month`` does.

A record restored to live use (a child who came back to England) moves back under the active KEK.
"""

from __future__ import annotations

from datetime import date

from contactpoint.children.models import Child
from contactpoint.errors import VaultError
from contactpoint.vault.cipher import dek_context
from contactpoint.vault.keyring import RETENTION_PREFIX
from contactpoint.vault.models import DataKey


def epoch(month: date) -> str:
    return f"{month:%Y-%m}"


def _rewrap(keyring, child: Child, wrap) -> None:
    key = DataKey.objects.filter(child_id=child.pk).first()
    if key is None:
        raise VaultError()
    context = dek_context(child.cpid)
    plain = keyring.unwrap(key.kek_id, bytes(key.wrapped), context)
    key.kek_id, key.wrapped = wrap(plain, context)
    key.save(update_fields=["kek_id", "wrapped"])


def hold_until(keyring, child: Child, delete_month: date) -> str:
    """Re-wrap the child's data key under the retention KEK of ``delete_month``; returns the KEK's ID."""
    kek_id = keyring.retention_kek(epoch(delete_month))
    _rewrap(keyring, child, lambda plain, context: keyring.wrap_under(kek_id, plain, context))
    return kek_id


def release(keyring, child: Child) -> None:
    """Back under the active KEK (the record is live again)."""
    _rewrap(keyring, child, keyring.wrap)


def destroy_spent(keyring, today: date) -> list[str]:
    """Destroy every retention KEK whose month has come and that no stored data key uses any more. Safe to
    repeat; it also finishes the work of a run killed between deleting the last record and destroying its KEK.
    A KEK of a month still to come is kept even if empty: records may yet be archived into it."""
    now_epoch = epoch(today)
    destroyed = []
    for kek_id in keyring.retention_kek_ids:
        if kek_id[len(RETENTION_PREFIX):] > now_epoch:
            continue
        if DataKey.objects.filter(kek_id=kek_id).exists():
            continue
        if keyring.destroy_retention_kek(kek_id):
            destroyed.append(kek_id)
    return destroyed
