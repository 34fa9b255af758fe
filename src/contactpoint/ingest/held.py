"""Rows held rather than discarded: taken from a feed, linked to no child, and too thin to make one.

A child needs a date of birth and a name (the lifecycle runs on the one, every page shows the other). A row
without them is still matched on what it has (identifiers above all); if that finds no child, it is held here:

- sealed under a data key of its own (wrapped by the key ring, as a child's), bound to its record key;
- listed for the data managers of its local authority (``held_for``: opening the rows is audited; the page
  "Rows held back" and ``contactpoint held``);
- taken in as soon as it can be: when its source sends it again (the batch tries it like any new record), or
  when a record with one of its identifiers, or with one of its names at its postcode, arrives from any source
  (``waiting_for``: the batch that took that record tries it again at once).

Nothing of the row is in clear: IDs, dates, the reason in words, and blind-index tokens of what it waits for.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from contactpoint import bulk
from contactpoint.access.authentication import user_actor
from contactpoint.access.models import User
from contactpoint.access.roles import Permission
from contactpoint.audit.actions import AuditAction
from contactpoint.audit.trail import record_event
from contactpoint.children import source_records
from contactpoint.children.models import HeldRecord, HeldToken
from contactpoint.children.source_records import FeedRow, held_identity
from contactpoint.errors import PermissionDenied
from contactpoint.ingest.prepare import LACKS_BIRTH, LACKS_NAME, names_at_postcode
from contactpoint.vault.cipher import ChildCipher, new_data_key, unwrap_data_key, wrap_data_key
from contactpoint.vault.keyring import KeyRing
from contactpoint.vault.tokens import identifier_tokens

NO_BIRTH = "no date of birth"
NO_NAME = "no name"
# A row that carries an identifier of a record sealed when its child was given a new identity (lifecycle.notices):
# never taken in on its own, whatever it holds; the reason says nothing of the new identity.
NEW_IDENTITY = ("it has an identifier of a record sealed when the child was given a new identity: it is not taken "
                "in; ask the source to close its record")
# The same, recognised without an identifier: the sealed record's name and date of birth (at its address).
NEW_IDENTITY_DETAILS = ("it has the name and date of birth of a record sealed when the child was given a new "
                        "identity: it is not taken in; ask the source to close its record")


def thin(lacking: Iterable[int]) -> str | None:
    """Why records of one child, together, cannot make a new child (None if they can): ``lacking`` holds what
    each record lacks (``prepare.lacks``)."""
    together = LACKS_BIRTH | LACKS_NAME
    for each in lacking:
        together &= each
    words = [what for bit, what in ((LACKS_BIRTH, NO_BIRTH), (LACKS_NAME, NO_NAME)) if together & bit]
    return " and ".join(words) or None


@dataclass(frozen=True, slots=True)
class ToHold:
    row: FeedRow
    record_key: str
    content_hash: str
    payload: bytes
    flags: tuple[tuple[str, str], ...]
    reason: str
    responsible_la: str


def hold(items: Sequence[ToHold], *, source: str, source_kind: str, run_id: str, received: date,
         keyring: KeyRing) -> tuple[int, int]:
    """Keep each row (a row held already is replaced by what the source sent last). Returns how many were new or
    changed, and how many were held already as they are: a row sent again unchanged changes nothing."""
    if not items:
        return 0, 0
    current = dict(HeldRecord.objects.filter(source=source, record_key__in=[i.record_key for i in items])
                   .values_list("record_key", "content_hash"))
    changed = [i for i in items if current.get(i.record_key) != i.content_hash]
    HeldRecord.objects.filter(source=source, record_key__in=[i.record_key for i in changed]).delete()
    made = []
    for item in changed:
        identity = held_identity(source, item.record_key)
        data_key = new_data_key()
        kek_id, wrapped = wrap_data_key(keyring, identity, data_key)
        sealed = source_records.seal_record(ChildCipher(identity, data_key), item.record_key, item.payload)
        made.append(HeldRecord(source=source, source_kind=source_kind, record_key=item.record_key,
                               content_hash=item.content_hash, feed_run=run_id, line=item.row.line,
                               received=received, responsible_la=item.responsible_la, reason=item.reason,
                               flags=[list(f) for f in item.flags], kek_id=kek_id, wrapped=wrapped,
                               payload=sealed))
    HeldRecord.objects.bulk_create(made)
    HeldToken.objects.bulk_create(
        HeldToken(held=record, token=token) for record, item in zip(made, changed, strict=True)
        for token in waiting_tokens(keyring, item.row))
    return len(changed), len(items) - len(changed)


def waiting_tokens(keyring: KeyRing, row: FeedRow) -> set[int]:
    """What a held row waits for: its identifiers' tokens, and either name's sound with its postcode."""
    return identifier_tokens(keyring, nhs_number=row.nhs_number, upn=row.upn, uln=row.uln) | names_at_postcode(
        keyring, row)


def release(source: str, record_keys: Iterable[str]) -> int:
    """Forget the held rows of ``source`` that have now been taken in (linked, or made a child)."""
    keys = list(record_keys)
    if not keys:
        return 0
    deleted = 0
    for q in bulk.any_of("record_key", keys):
        deleted += HeldRecord.objects.filter(q, source=source).delete()[1].get(HeldRecord._meta.label, 0)
    return deleted


def waiting_for(tokens: Iterable[int], *, besides: Iterable[tuple[str, str]] = ()) -> list[HeldRecord]:
    """Held rows that share a token with ``tokens`` (of the records a batch just took in), other
    than the (source, record key) pairs in ``besides``. Tokens are truncated, so some share one by chance: they
    are simply tried again and held again."""
    ids = {held for (held,) in bulk.select_any("SELECT held_id FROM children_held_token WHERE token {any}",
                                               sorted(set(tokens)))}
    skip = set(besides)
    found: list[HeldRecord] = []
    for q in bulk.any_of("id", sorted(ids)):
        found += HeldRecord.objects.filter(q)
    return [h for h in found if (h.source, h.record_key) not in skip]


@dataclass(frozen=True)
class HeldRow:
    """A held row as a data manager reads it."""

    id: int
    received: date
    source: str
    line: int
    reason: str
    flags: tuple[tuple[str, str], ...]  # (field, reason) of each value the row was taken without
    row: FeedRow


@dataclass(frozen=True)
class HeldPage:
    count: int  # all the rows held for the authority
    rows: list[HeldRow]  # this page of them, oldest first


def held_for(user: User, *, keyring: KeyRing, now: datetime, offset: int = 0, limit: int = 50) -> HeldPage:
    """The rows held for the user's local authority, oldest first, opened: what each holds and lacks, so that
    a data manager can ask its source for what is missing (or recognise the child). Opening them is audited."""
    if not user.has(Permission.LA_MATCH_REVIEW):
        raise PermissionDenied("Your role does not include the rows held back from matching.")
    la = user.organisation.la_code
    if not la:
        raise PermissionDenied("Only a local authority's data managers see the rows held for it.")
    found = HeldRecord.objects.filter(responsible_la=la)
    page = list(found.order_by("received", "id")[offset:offset + limit])
    rows = [HeldRow(h.id, h.received, h.source, h.line, h.reason, tuple((f, r) for f, r in h.flags),
                    open_held(keyring, h)) for h in page]
    if rows:
        record_event(AuditAction.HELD_ROWS_OPENED, actor=user_actor(user), keyring=keyring, at=now,
                     context={"la": la, "held": [h.id for h in page]})
    return HeldPage(found.count(), rows)


def held_count(la: str) -> int:
    """How many rows are held for a local authority (its data managers' home page): a count, nothing opened, so
    not audited as ``held_for`` is."""
    return HeldRecord.objects.filter(responsible_la=la).count()


def open_held(keyring: KeyRing, held: HeldRecord) -> FeedRow:
    identity = held_identity(held.source, held.record_key)
    cipher = ChildCipher(identity, unwrap_data_key(keyring, identity, held.kek_id, bytes(held.wrapped)))
    return source_records.loads(source_records.open_record(cipher, held.record_key, bytes(held.payload)),
                                line=held.line)


__all__ = ["NEW_IDENTITY", "NEW_IDENTITY_DETAILS", "NO_BIRTH", "NO_NAME", "HeldPage", "HeldRow", "ToHold",
           "held_for", "hold", "open_held", "release", "thin", "waiting_for"]
