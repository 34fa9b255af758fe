"""Writing and reading child records through the vault.

Every function takes the key ring (and a clock value where it matters) as an argument. A record is written as
one row of ciphertexts (one per field group), one wrapped data key and its blind-index tokens, all in one
transaction. Reading decrypts only the groups asked for: code that must not see a shielded child's hidden
fields never decrypts them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import IntegrityError, connection, transaction

from contactpoint import bulk
from contactpoint.children.identifiers import new_contactpoint_id
from contactpoint.children.models import Child, ChildStatus
from contactpoint.children.record import FIELD_GROUPS, ChildRecord, decode_groups
from contactpoint.children.sealing import Identity, Sealed, child_id, seal, tokens_for
from contactpoint.errors import VaultError
from contactpoint.vault.cipher import ChildCipher, new_data_key, open_child_key, wrap_data_key
from contactpoint.vault.keyring import KeyRing
from contactpoint.vault.models import DataKey, IndexEntry


@dataclass(frozen=True)
class NewChild:
    """A record to be added, without its ContactPoint ID (issued on write)."""

    record: ChildRecord  # cpid ignored
    responsible_la: str
    shielded: bool = False


def new_identity(keyring: KeyRing) -> Identity:
    cpid = new_contactpoint_id()
    data_key = new_data_key()
    return Identity(cpid, data_key, *wrap_data_key(keyring, cpid, data_key))


_CHILD_COLUMNS = ("id", "cpid", "status", "shielded", "responsible_la", "review_month", "archived_month", "version",
                  "created_at", "updated_at", *FIELD_GROUPS, "education_missing_from", "education_missing_until")


GAP_COLUMNS = ("education_missing_from", "education_missing_until")


def _gap(ops: Any, sealed: Sealed) -> tuple[Any, Any]:
    start, end = sealed.education_gap
    return ops.adapt_datefield_value(start), ops.adapt_datefield_value(end)


@dataclass(frozen=True)
class Created:
    id: int
    cpid: str
    cipher: ChildCipher  # for sealing what else belongs to the child (its source records) in the same transaction
    data_key: bytes = field(repr=False)


def create_sealed(keyring: KeyRing, count: int,
                  prepare: Callable[[list[Identity]], Sequence[tuple[Sealed, str, bool]]], *,
                  now: datetime, identities: list[Identity] | None = None) -> list[Created]:
    """Add ``count`` children in one transaction: rows, wrapped keys and index tokens. ``prepare`` seals each
    child's record under the identity given to it and returns (sealed, responsible LA, shielded) for each.
    ``identities`` made beforehand (``new_identity``) are tried first: the load seals a batch under them while
    it writes the one before."""
    ops = connection.ops
    stamp = ops.adapt_datetimefield_value(now)
    for attempt in range(3):
        if attempt or identities is None:
            identities = [new_identity(keyring) for _ in range(count)]
        prepared = prepare(identities)
        try:
            with transaction.atomic():
                bulk.insert("children_child", _CHILD_COLUMNS, (
                    (i.id, i.cpid, ChildStatus.LIVE.value, shielded, la, ops.adapt_datefield_value(s.review_month),
                     None, 1, stamp, stamp, *s.groups, *_gap(ops, s))
                    for i, (s, la, shielded) in zip(identities, prepared, strict=True)))
                bulk.insert("vault_data_key", ("child_id", "kek_id", "wrapped"),
                            ((i.id, i.kek_id, i.wrapped) for i in identities))
                bulk.insert("vault_index", ("token", "child_id"), (
                    (t, i.id) for i, (s, _, _) in zip(identities, prepared, strict=True) for t in s.tokens))
            return [Created(i.id, i.cpid, ChildCipher(i.cpid, i.data_key), i.data_key) for i in identities]
        except IntegrityError:
            # A ContactPoint ID collided (random IDs: about 1 in 10,000 per million new children). The IDs are
            # bound into the ciphertexts, so everything is prepared again with new ones.
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def create_children(keyring: KeyRing, new: Sequence[NewChild], *, now: datetime) -> list[Created]:
    """Add children in one transaction: rows, wrapped keys and index tokens."""
    # A record's cpid field is not stored: the ID is the row's, bound into every ciphertext.
    return create_sealed(keyring, len(new), lambda identities: [
        (seal(keyring, ChildCipher(i.cpid, i.data_key), item.record, shielded=item.shielded), item.responsible_la,
         item.shielded) for i, item in zip(identities, new, strict=True)], now=now)


def live_by_cpid(cpid: str) -> Child | None:
    """The live child with ``cpid``; or, if that record was merged, the live child it became, through any chain
    of merges (a practitioner may hold the older ID on paper: it leads to the child, never to nothing). None if
    neither is live (unknown, archived, sealed)."""
    child = Child.objects.filter(cpid=cpid).first()
    seen: set[int] = set()
    while child is not None and child.status == ChildStatus.MERGED and child.merged_into_id \
            and child.pk not in seen:
        seen.add(child.pk)
        child = Child.objects.filter(pk=child.merged_into_id).first()
    return child if child is not None and child.status == ChildStatus.LIVE else None


def cipher_for(keyring: KeyRing, child: Child) -> ChildCipher:
    key = DataKey.objects.filter(child_id=child.pk).values_list("kek_id", "wrapped").first()
    if key is None:
        raise VaultError()
    return open_child_key(keyring, child.cpid, key[0], bytes(key[1]))


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
    """Replace many children's records at once: see ``write_sealed``."""
    write_sealed([(child, seal(keyring, cipher, record, shielded=child.shielded,
                               indexed=child.status == ChildStatus.LIVE)) for child, record, cipher in items], now=now)


def write_sealed(items: Sequence[tuple[Any, Sealed]], *, now: datetime) -> None:
    """Replace many children's records at once (the feed pipeline's hot path): every group in one statement for
    them all, and of their index tokens only those that changed are deleted or added (a record that gains a
    source mostly keeps its tokens). A child is a ``Child`` or anything with its ``pk``, ``status`` and
    ``review_month``."""
    ops = connection.ops
    updates, wanted = [], {}
    for child, sealed in items:
        review = sealed.review_month if child.status == ChildStatus.LIVE else child.review_month
        updates.append((child.pk, *sealed.groups, ops.adapt_datefield_value(review), *_gap(ops, sealed)))
        wanted[child.pk] = sealed.tokens if child.status == ChildStatus.LIVE else frozenset()
    with transaction.atomic():
        bulk.update("children_child", "id", [*FIELD_GROUPS, "review_month", *GAP_COLUMNS],
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


def reindex_all(keyring: KeyRing, *, batch_size: int = 2000,
                on_batch: Callable[[int], None] = lambda done: None) -> int:
    """Rewrite the tokens of every live child, a batch per transaction, walking the primary key (after a blind
    index is added to the catalogue). Returns how many children were re-indexed."""
    done, after = 0, 0
    while True:
        with transaction.atomic():
            batch = list(Child.objects.filter(status=ChildStatus.LIVE, pk__gt=after).order_by("pk")[:batch_size])
            for child in batch:
                reindex(keyring, child, load_record(keyring, child))
        if not batch:
            return done
        after = batch[-1].pk
        done += len(batch)
        on_batch(len(batch))


def shred(child: Child) -> None:
    """Crypto-shredding: destroy the data key and the index tokens, then the row. Copies of the ciphertext
    elsewhere (backups) can no longer be opened once the key ring's KEK that wrapped the key is rotated away."""
    with transaction.atomic():
        IndexEntry.objects.filter(child_id=child.pk).delete()
        DataKey.objects.filter(child_id=child.pk).delete()
        Child.objects.filter(pk=child.pk).delete()


# Sealing is in ``sealing`` (no database: a feed's helper processes use it); the names stay importable from here.
__all__ = ["Created", "Identity", "NewChild", "Sealed", "child_id", "cipher_for", "create_children",
           "create_sealed", "load_groups", "load_record", "new_identity", "reindex", "reindex_all", "save_record",
           "save_records", "seal", "shred", "tokens_for", "write_sealed"]
