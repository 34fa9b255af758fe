"""Writing and reading child records through the vault.

Every function takes the key ring (and a clock value where it matters) as an argument. A record is written as
one row of ciphertexts (one per field group), one wrapped data key and its blind-index tokens, all in one
transaction. Reading decrypts only the groups asked for: code that must not see a shielded child's hidden
fields never decrypts them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import IntegrityError, connection, transaction

from contactpoint import bulk
from contactpoint.children.identifiers import new_contactpoint_id
from contactpoint.children.models import Child, ChildStatus
from contactpoint.children.record import FIELD_GROUPS, ChildRecord, decode_groups, encode_groups
from contactpoint.lifecycle.dates import live_review_month
from contactpoint.search.keys import record_tokens
from contactpoint.vault.cipher import ChildCipher, new_child_key, open_child_key
from contactpoint.vault.keyring import KeyRing
from contactpoint.vault.models import DataKey, IndexEntry


@dataclass(frozen=True)
class NewChild:
    """A record to be added, without its ContactPoint ID (issued on write)."""

    record: ChildRecord  # cpid ignored
    responsible_la: str
    shielded: bool = False


def tokens_for(keyring: KeyRing, record: ChildRecord, *, shielded: bool) -> set[int]:
    return record_tokens(
        keyring,
        given=record.name.value.given,
        family_names=[record.name.value.family, *(f.value.family for f in record.former_names)],
        date_of_birth=record.date_of_birth.value,
        postcode=record.postcode,
        nhs_number=record.nhs_number.value if record.nhs_number else None,
        upn=record.upn.value if record.upn else None,
        uln=record.uln.value if record.uln else None,
        shielded=shielded,
    )


def _review_month(record: ChildRecord):
    death = record.date_of_death.value if record.date_of_death else None
    return live_review_month(record.date_of_birth.value, date_of_death=death)


def _sealed_columns(cipher: ChildCipher, record: ChildRecord) -> dict[str, bytes]:
    return {group: cipher.seal(group, plaintext) for group, plaintext in encode_groups(record).items()}


def child_id(cpid: str) -> int:
    return int(cpid[:-1])


_CHILD_COLUMNS = ("id", "cpid", "status", "shielded", "responsible_la", "review_month", "archived_month", "version",
                  "created_at", "updated_at", *FIELD_GROUPS)


@dataclass(frozen=True)
class _Prepared:
    row: tuple[Any, ...]
    kek_id: str
    wrapped: bytes
    tokens: set[int]
    cipher: ChildCipher


def _prepare(keyring: KeyRing, item: NewChild, now: datetime) -> _Prepared:
    cpid = new_contactpoint_id()
    record = item.record  # its cpid field is not stored: the ID is the row's, bound into every ciphertext
    cipher, kek_id, wrapped = new_child_key(keyring, cpid)
    sealed = _sealed_columns(cipher, record)
    ops = connection.ops
    stamp = ops.adapt_datetimefield_value(now)
    row = (child_id(cpid), cpid, ChildStatus.LIVE.value, item.shielded, item.responsible_la,
           ops.adapt_datefield_value(_review_month(record)), None, 1, stamp, stamp, *(sealed[g] for g in FIELD_GROUPS))
    return _Prepared(row, kek_id, wrapped, tokens_for(keyring, record, shielded=item.shielded), cipher)


@dataclass(frozen=True)
class Created:
    id: int
    cpid: str
    cipher: ChildCipher  # for sealing what else belongs to the child (its source records) in the same transaction


def create_children(keyring: KeyRing, new: Sequence[NewChild], *, now: datetime) -> list[Created]:
    """Add children in one transaction: rows, wrapped keys and index tokens."""
    for attempt in range(3):
        prepared = [_prepare(keyring, item, now) for item in new]
        try:
            with transaction.atomic():
                bulk.insert("children_child", _CHILD_COLUMNS, (p.row for p in prepared))
                bulk.insert("vault_data_key", ("child_id", "kek_id", "wrapped"),
                            ((p.row[0], p.kek_id, p.wrapped) for p in prepared))
                bulk.insert("vault_index", ("token", "child_id"), ((t, p.row[0]) for p in prepared for t in p.tokens))
            return [Created(p.row[0], p.row[1], p.cipher) for p in prepared]
        except IntegrityError:
            # A ContactPoint ID collided (random IDs: about 1 in 10,000 per million new children). The IDs are
            # bound into the ciphertexts, so everything is prepared again with new ones.
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def cipher_for(keyring: KeyRing, child: Child) -> ChildCipher:
    key = DataKey.objects.filter(child_id=child.pk).values_list("kek_id", "wrapped").first()
    if key is None:
        from contactpoint.errors import VaultError

        raise VaultError()
    return open_child_key(keyring, child.cpid, key[0], key[1])


def ciphers_for(keyring: KeyRing, children: Iterable[Child]) -> dict[int, ChildCipher]:
    """``cipher_for`` many children with one query (feeds open thousands of data keys per batch)."""
    by_id = {c.pk: c for c in children}
    out: dict[int, ChildCipher] = {}
    for q in bulk.any_of("child_id", list(by_id)):
        for child_id, kek_id, wrapped in DataKey.objects.filter(q).values_list("child_id", "kek_id", "wrapped"):
            out[child_id] = open_child_key(keyring, by_id[child_id].cpid, kek_id, wrapped)
    return out


def load_groups(keyring: KeyRing, child: Child, groups: Iterable[str] = FIELD_GROUPS,
                cipher: ChildCipher | None = None) -> dict[str, Any]:
    """Decrypt the named field groups of a child; returns ``ChildRecord`` keyword arguments for them."""
    cipher = cipher or cipher_for(keyring, child)
    plaintexts = {g: cipher.open(g, bytes(getattr(child, g))) for g in groups}
    return decode_groups(child.cpid, plaintexts)


def load_record(keyring: KeyRing, child: Child, cipher: ChildCipher | None = None) -> ChildRecord:
    return ChildRecord(**load_groups(keyring, child, FIELD_GROUPS, cipher))


def save_record(keyring: KeyRing, child: Child, record: ChildRecord, *, now: datetime,
                cipher: ChildCipher | None = None) -> Child:
    """Replace a child's record (re-sealing every group) and its index tokens."""
    save_records(keyring, [(child, record, cipher or cipher_for(keyring, child))], now=now)
    child.refresh_from_db()
    return child


def save_records(keyring: KeyRing, items: Sequence[tuple[Child, ChildRecord, ChildCipher]], *,
                 now: datetime) -> None:
    """Replace many children's records at once (the feed pipeline's hot path): every group sealed again, in one
    statement for them all, and of their index tokens only those that changed are deleted or added (a record
    that gains a source mostly keeps its tokens)."""
    ops = connection.ops
    updates, wanted = [], {}
    for child, record, cipher in items:
        sealed = _sealed_columns(cipher, record)
        review = _review_month(record) if child.status == ChildStatus.LIVE else child.review_month
        updates.append((child.pk, *(sealed[g] for g in FIELD_GROUPS), ops.adapt_datefield_value(review)))
        wanted[child.pk] = (tokens_for(keyring, record, shielded=child.shielded)
                            if child.status == ChildStatus.LIVE else set())
    with transaction.atomic():
        bulk.update("children_child", "id", [*FIELD_GROUPS, "review_month"],
                    updates, extra="updated_at = %s, version = version + 1",
                    extra_params=[ops.adapt_datetimefield_value(now)])
        # Read after the UPDATE, which locks the children's rows: another writer of them waits for this one.
        held: dict[int, set[int]] = {child_id: set() for child_id in wanted}
        for token, child_id in bulk.select_any("SELECT token, child_id FROM vault_index WHERE child_id {any}",
                                               list(wanted)):
            held[child_id].add(token)
        bulk.delete("vault_index", ("token", "child_id"), [(t, c) for c, tokens in held.items()
                                                          for t in tokens - wanted[c]])
        bulk.insert("vault_index", ("token", "child_id"), [(t, c) for c, tokens in wanted.items()
                                                          for t in tokens - held[c]])


def reindex(keyring: KeyRing, child: Child, record: ChildRecord) -> None:
    """Rewrite a child's index tokens. Only live children are indexed: archived and sealed records are out of
    every search."""
    IndexEntry.objects.filter(child_id=child.pk).delete()
    if child.status != ChildStatus.LIVE:
        return
    tokens = tokens_for(keyring, record, shielded=child.shielded)
    with connection.cursor() as cursor:
        cursor.executemany("INSERT INTO vault_index (token, child_id) VALUES (%s, %s)",
                           [(t, child.pk) for t in tokens])


def shred(child: Child) -> None:
    """Crypto-shredding: destroy the data key and the index tokens, then the row. Copies of the ciphertext
    elsewhere (backups) can no longer be opened once the key ring's KEK that wrapped the key is rotated away."""
    with transaction.atomic():
        IndexEntry.objects.filter(child_id=child.pk).delete()
        DataKey.objects.filter(child_id=child.pk).delete()
        Child.objects.filter(pk=child.pk).delete()
