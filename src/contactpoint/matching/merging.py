"""Merging two children into one and splitting them again, exactly; and splitting any child's source records out
into a child of their own, whoever linked them (the mechanics behind a review decision; who may do it, the
audit and the labels are in ``contactpoint.matching.review``).

A merge never rewrites the absorbed child's sealed record, its data key or its ID: it marks it ``merged`` (out of
every search, ``merged_into`` the survivor) and moves its source records and practitioners' entries to the
survivor, re-sealed under the survivor's data key, then rebuilds the survivor's best view. The ``Merge`` row keeps
what a split needs: the records moved and their content hashes, the survivor's shielding, and the other review
items re-pointed at the survivor. A split moves everything back; the absorbed record is live again exactly as it
was, or rebuilt if one of its sources has sent an update since.
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import Q

from contactpoint.audit.trail import Actor
from contactpoint.bestview.build import build
from contactpoint.bestview.discrepancies import sync_discrepancies
from contactpoint.bestview.models import Discrepancy
from contactpoint.children.models import Child, ChildStatus, SourceRecord
from contactpoint.children.source_records import open_record, seal_record
from contactpoint.children.store import NewChild, cipher_for, create_children, load_record, reindex, save_records
from contactpoint.matching.models import Merge, ReviewItem
from contactpoint.records.amendments import carry_back, carry_over, held_records, in_force, rebuild
from contactpoint.records.involvements import manual_entries, open_involvement, seal_involvement
from contactpoint.records.models import PractitionerInvolvement
from contactpoint.vault.cipher import ChildCipher
from contactpoint.vault.keyring import KeyRing
from contactpoint.vault.models import IndexEntry

PENDING = (ReviewItem.Status.OPEN, ReviewItem.Status.DEFERRED)


def _best_view(child: Child, cipher: ChildCipher):
    held = held_records(child, cipher)
    if not held:
        return None
    return build(held, manual_entries(child, cipher), cpid=child.cpid, amendments=in_force(child.pk, cipher))


def _move_records(keys: list[str], src: Child, dst: Child, src_cipher: ChildCipher, dst_cipher: ChildCipher,
                  involvement_keys: list[str]) -> None:
    """Move source records and practitioners' entries from one child to another, re-sealed under the other's
    data key (ciphertexts are bound to their child, so they cannot simply be re-pointed)."""

    records = list(SourceRecord.objects.filter(child=src, record_key__in=keys))
    for record in records:
        record.payload = seal_record(dst_cipher, record.record_key, open_record(src_cipher, record.record_key,
                                                                              bytes(record.payload)))
        record.child = dst
    SourceRecord.objects.bulk_update(records, ["payload", "child"])
    Discrepancy.objects.filter(record__in=records).update(child=dst)
    entries = list(PractitionerInvolvement.objects.filter(child=src, key__in=involvement_keys))
    for entry in entries:
        entry.payload = seal_involvement(dst_cipher, entry.key, open_involvement(src_cipher, entry))
        entry.child = dst
    PractitionerInvolvement.objects.bulk_update(entries, ["payload", "child"])


def followed(child_id: int, *, lock: bool = False) -> Child:
    """The child; or, if merged, the child it was merged into (and so on: a chain of merges). ``lock``: each row
    read is locked for the caller's transaction."""
    children = Child.objects.select_for_update() if lock else Child.objects
    child = children.get(pk=child_id)
    seen = {child.pk}
    while child.status == ChildStatus.MERGED and child.merged_into_id and child.merged_into_id not in seen:
        child = children.get(pk=child.merged_into_id)
        seen.add(child.pk)
    return child


def survivor_of(a: Child, b: Child) -> tuple[Child, Child]:
    """The older record survives, so the ContactPoint ID practitioners have known longest stays the main one."""
    return (a, b) if (a.created_at, a.pk) <= (b.created_at, b.pk) else (b, a)


def has_records(*children: Child) -> bool:
    return SourceRecord.objects.filter(child__in=children, active=True).exists()


MATCHING = Actor.system("matching")  # who moved a local authority's changes in a merge the feeds made


def merge_children(survivor: Child, absorbed: Child, *, by: str, item: ReviewItem | None, keyring: KeyRing,
                   now: datetime, actor: Actor = MATCHING) -> Merge:
    """Merge ``absorbed`` into ``survivor`` (both live and locked by the caller, in its transaction). A local
    authority's changes in force or awaiting approval on ``absorbed`` move too (``amendments.carry_over``)."""
    keys = list(SourceRecord.objects.filter(child=absorbed).order_by("id").values_list("record_key", flat=True))
    hashes = dict(SourceRecord.objects.filter(child=absorbed).values_list("record_key", "content_hash"))
    involvements = list(PractitionerInvolvement.objects.filter(child=absorbed).values_list("key", flat=True))
    repointed = []
    others = ReviewItem.objects.filter(status__in=PENDING).filter(Q(child_a=absorbed) | Q(child_b=absorbed))
    if item is not None:
        others = others.exclude(pk=item.pk)
    for other in others:
        side = "a" if other.child_a_id == absorbed.pk else "b"
        repointed.append([other.pk, side, other.status])
        setattr(other, f"child_{side}_id", survivor.pk)
        if other.child_a_id == other.child_b_id:  # the two are one child now: nothing left to review
            other.status, other.decided_at, other.decided_by = ReviewItem.Status.LINKED, now, by
        other.save(update_fields=["child_a", "child_b", "status", "decided_at", "decided_by"])
    merge = Merge.objects.create(
        survivor=survivor, absorbed=absorbed, record_keys=keys, merged_at=now, merged_by=by, review=item,
        before={"survivor_shielded": survivor.shielded, "hashes": hashes, "involvements": involvements,
                "repointed": repointed})
    survivor_cipher, absorbed_cipher = cipher_for(keyring, survivor), cipher_for(keyring, absorbed)
    _move_records(keys, absorbed, survivor, absorbed_cipher, survivor_cipher, involvements)
    carried = carry_over(absorbed, survivor, absorbed_cipher, survivor_cipher, keyring=keyring, now=now, by=actor)
    if carried:
        merge.before = {**merge.before, **carried}
        merge.save(update_fields=["before"])
    Child.objects.filter(pk=absorbed.pk).update(status=ChildStatus.MERGED, merged_into=survivor)
    IndexEntry.objects.filter(child_id=absorbed.pk).delete()
    sync_discrepancies({absorbed.pk: frozenset()}, now=now)
    # The merged record keeps the stricter protection: shielding is never lost by a merge.
    if absorbed.shielded and not survivor.shielded:
        Child.objects.filter(pk=survivor.pk).update(shielded=True)
        survivor.shielded = True
    rebuild(keyring, survivor, survivor_cipher, now=now)
    return merge


def undo_merge(merge: Merge, survivor: Child, absorbed: Child, *, by: str, keyring: KeyRing,
               now: datetime, actor: Actor = MATCHING) -> None:
    """Split a merge (its children locked by the caller, in its transaction). The local authority's changes go
    back to the child each was made on (``amendments.carry_back``)."""
    before = merge.before or {}
    survivor_cipher, absorbed_cipher = cipher_for(keyring, survivor), cipher_for(keyring, absorbed)
    _move_records(merge.record_keys, survivor, absorbed, survivor_cipher, absorbed_cipher,
                  before.get("involvements", []))
    amended = carry_back(before, survivor, absorbed, survivor_cipher, absorbed_cipher, keyring=keyring, now=now,
                         by=actor)
    absorbed.status, absorbed.merged_into = ChildStatus.LIVE, None
    Child.objects.filter(pk=absorbed.pk).update(status=ChildStatus.LIVE, merged_into=None)
    if survivor.shielded != before.get("survivor_shielded", survivor.shielded):
        survivor.shielded = before["survivor_shielded"]
        Child.objects.filter(pk=survivor.pk).update(shielded=survivor.shielded)
    now_hashes = dict(SourceRecord.objects.filter(child=absorbed).values_list("record_key", "content_hash"))
    view = _best_view(absorbed, absorbed_cipher)
    if view is not None and (amended or now_hashes != before.get("hashes", now_hashes)):
        # A source updated it since, or its changes came back (one may have ended on the merged record meanwhile).
        save_records(keyring, [(absorbed, view.record, absorbed_cipher)], now=now)
    else:
        reindex(keyring, absorbed, load_record(keyring, absorbed, absorbed_cipher))  # exactly as it was
    if view is not None:
        sync_discrepancies({absorbed.pk: view.discrepancies}, now=now)
    rebuild(keyring, survivor, survivor_cipher, now=now)
    for item_id, side, status in before.get("repointed", []):
        ReviewItem.objects.filter(pk=item_id, **{f"child_{side}_id": survivor.pk}).update(
            **{f"child_{side}_id": absorbed.pk, "status": status, "decided_at": None, "decided_by": ""})
    merge.undone_at, merge.undone_by = now, by
    merge.save(update_fields=["undone_at", "undone_by"])


def detach_records(child: Child, record_keys: list[str], *, keyring: KeyRing, now: datetime) -> Child:
    """Split the source records ``record_keys`` out of ``child`` (live, locked by the caller, in its transaction)
    into a new child of their own, with the best view they make alone; ``child`` is rebuilt from the records it
    keeps, as if the others had never been linked to it, whether the pipeline or a person linked them.
    Practitioners' own entries stay with ``child``. The new child keeps ``child``'s shielding (a split never
    loses protection) and responsible local authority. Returns the new child."""
    cipher = cipher_for(keyring, child)
    held = held_records(child, cipher)
    leaving = [h for h in held if h.record_key in set(record_keys)]
    view = build(leaving) if leaving else None
    if view is None or view.record.date_of_birth is None:
        raise ValueError("the records split out must make a child of their own")
    [made] = create_children(keyring, [NewChild(view.record, child.responsible_la, child.shielded)], now=now)
    new = Child.objects.get(pk=made.id)
    _move_records([h.record_key for h in leaving], child, new, cipher, made.cipher, [])
    sync_discrepancies({new.pk: view.discrepancies}, now=now)
    rebuild(keyring, child, cipher, now=now)
    return new
