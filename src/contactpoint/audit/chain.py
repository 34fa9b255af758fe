"""The hash chain: how an entry is hashed, and how the whole trail is verified.

    hash(n) = SHA-256( RFC 8785 canonical JSON of entry n, which includes seq n and hash(n-1) )

The first entry's previous hash is 64 zeros. Verification walks the entries in ``seq`` order and reports the
first that is missing, out of place, altered, or whose predecessor was; then compares the tail with the head
row and with any signed checkpoint, so a truncated or rewritten trail is caught too.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any, NamedTuple

import orjson
import rfc8785

GENESIS = "0" * 64


def format_at(at: datetime) -> str:
    return at.isoformat(timespec="microseconds")


def entry_body(
    *, seq: int, at: datetime, action: str, outcome: str, severity: str, actor: str, actor_org: str,
    actor_role: str, reason: str, target_user: str, subjects: list[str], context: dict[str, Any], detail: str,
    detail_key: str,
    prev_hash: str,
    request_id: str = "",
) -> dict[str, Any]:
    body = {
        "seq": seq, "at": format_at(at), "action": action, "outcome": outcome, "severity": severity,
        "actor": actor, "actor_org": actor_org, "actor_role": actor_role, "reason": reason,
        "target_user": target_user, "subjects": list(subjects), "context": context, "detail": detail,
        "detail_key": detail_key,
        "prev": prev_hash,
    }
    # The request an entry was written in (migration 0005). Only present when there was one, so that every entry
    # written before request ids keeps the body, and the hash, it was linked with.
    if request_id:
        body["request"] = request_id
    return body


def entry_hash(body: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(body)).hexdigest()


SAFE_INT = 2**53 - 1  # the largest integer JSON carries exactly (RFC 8785, I-JSON)


_SURROGATE = re.compile("[\ud800-\udfff]")


def _plain(value: Any) -> bool:
    # Exact types first, in loops rather than generators: a verification asks this of every value of every entry
    # (millions an hour at national use), and this is most of what hashing an entry costs in Python.
    kind = type(value)
    if kind is str:
        return value.isascii() or not _SURROGATE.search(value)
    if kind is int:
        return -SAFE_INT <= value <= SAFE_INT
    if kind is bool or value is None:
        return True
    if kind is list:
        for item in value:
            if not _plain(item):
                return False
        return True
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str or not key.isascii() or not _plain(item):
                return False
        return True
    return _plain_subclass(value)


def _plain_subclass(value: Any) -> bool:
    """``_plain`` for subclasses (a ``StrEnum`` member, say)."""
    if isinstance(value, str):
        return not any("\ud800" <= ch <= "\udfff" for ch in value) if not value.isascii() else True
    if isinstance(value, bool) or value is None:
        return True
    if isinstance(value, int):
        return -SAFE_INT <= value <= SAFE_INT
    if isinstance(value, list):
        return all(_plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and k.isascii() and _plain(v) for k, v in value.items())
    return False


def canonical_json(value: Any) -> bytes:
    """RFC 8785 canonical JSON. For what audit entries hold (ASCII keys, strings, safe integers, booleans,
    null, lists and objects; floats are refused on the way in) it is exactly Python's sorted, compact,
    unescaped-Unicode JSON, which is several times faster than the general RFC 8785 encoder; anything else
    goes to that encoder. A property test holds the two to the same bytes."""
    if _plain(value):
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    return rfc8785.dumps(value)


def body_of_row(row: Any) -> dict[str, Any]:
    return entry_body(
        seq=row.seq, at=row.at, action=row.action, outcome=row.outcome, severity=row.severity, actor=row.actor,
        actor_org=row.actor_org, actor_role=row.actor_role, reason=row.reason, target_user=row.target_user,
        subjects=row.subjects,
        context=row.context, detail=row.detail, detail_key=row.detail_key, prev_hash=row.prev_hash,
        request_id=getattr(row, "request_id", "") or "",
    )


@dataclass(frozen=True)
class Verdict:
    intact: bool
    entries: int
    last_seq: int
    last_hash: str
    problem: str = ""
    first_bad_seq: int | None = None
    from_seq: int = 0  # where the walk began: 0 from the first entry, else a signed checkpoint's entry

    def __str__(self) -> str:
        if not self.intact:
            return f"audit trail NOT intact: {self.problem}"
        if self.from_seq:
            return (f"audit trail intact since the signed checkpoint at entry {self.from_seq}: {self.entries} entries "
                    f"checked, last seq {self.last_seq}, hash {self.last_hash}")
        return f"audit trail intact: {self.entries} entries, last seq {self.last_seq}, hash {self.last_hash}"


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    hash: str


class StoredEntry(NamedTuple):
    """An entry as a walk reads it from PostgreSQL: ``at`` already in the form the hash covers (the database
    formats it), ``subjects`` and ``context`` as the JSON text it holds. Reading entries this way, and hashing
    them with ``stored_entry_hash``, costs about a quarter of model rows hashed through ``entry_body``: a day of
    national use (1.3 million entries) is verified in seconds rather than most of a minute."""
    seq: int
    at: str
    action: str
    outcome: str
    severity: str
    actor: str
    actor_org: str
    actor_role: str
    reason: str
    target_user: str
    subjects: str
    context: str
    detail: str
    detail_key: str
    request_id: str
    prev_hash: str
    hash: str


def _stored_body(row: StoredEntry, loads: Any) -> dict[str, Any]:
    # The keys in sorted order already: the encoder's sort is then a pass over them.
    body = {"action": row.action, "actor": row.actor, "actor_org": row.actor_org, "actor_role": row.actor_role,
            "at": row.at, "context": loads(row.context), "detail": row.detail, "detail_key": row.detail_key,
            "outcome": row.outcome, "prev": row.prev_hash, "reason": row.reason, "seq": row.seq,
            "severity": row.severity, "subjects": loads(row.subjects), "target_user": row.target_user}
    if row.request_id:
        body["request"] = row.request_id
    return body


def stored_entry_hash(row: StoredEntry) -> str:
    """The hash of an entry read as a ``StoredEntry``: the same bytes ``canonical_json`` gives (a property test
    holds them together), through orjson, whose sorted compact output is RFC 8785's for plain values. Whatever
    is not plain, or does not hash to what is stored, is hashed again the general way before anyone is told
    the entry was altered: a faster encoder may save time, never raise a false alarm."""
    digest = fast_hash(row)
    if digest is not None and digest == row.hash:
        return digest
    return entry_hash(_stored_body(row, json.loads))


def fast_hash(row: StoredEntry) -> str | None:
    """The hash through orjson, or None where its output might not be RFC 8785's (what is not plain)."""
    try:
        body = _stored_body(row, orjson.loads)
        if _plain(body["context"]) and _plain(body["subjects"]) and row.seq <= SAFE_INT:
            return hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()
    except (orjson.JSONDecodeError, orjson.JSONEncodeError):
        pass
    return None


def _row_hash(row: Any) -> str:
    if type(row) is StoredEntry:
        return stored_entry_hash(row)
    return entry_hash(body_of_row(row))


def walk(rows: Iterable[Any], *, after: Checkpoint = Checkpoint(0, GENESIS)) -> Iterator[tuple[int, str, str | None]]:
    """Yields (seq, computed hash, problem or None) for each row in order, stopping at the first problem. ``rows``
    start just ``after`` a point already known good (the genesis, or a signed checkpoint: see ``verify_rows``)."""
    expected_seq = after.seq + 1
    prev = after.hash
    for row in rows:
        if row.seq != expected_seq:
            if row.seq > expected_seq:
                yield expected_seq, prev, f"entry {expected_seq} is missing (next present is {row.seq})"
            else:
                yield row.seq, prev, f"entry {row.seq} is out of order"
            return
        if row.prev_hash != prev:
            yield row.seq, prev, f"entry {row.seq} does not follow entry {row.seq - 1} (previous hash differs)"
            return
        computed = _row_hash(row)
        if computed != row.hash:
            yield row.seq, prev, f"entry {row.seq} has been altered (its hash does not match its content)"
            return
        yield row.seq, computed, None
        prev = computed
        expected_seq += 1


def verify_rows(
    rows: Iterable[Any], *, head_seq: int | None, head_hash: str = "", checkpoints: Iterable[Checkpoint] = (),
    after: Checkpoint = Checkpoint(0, GENESIS),
) -> Verdict:
    """Walk ``rows`` (the entries after ``after``, in order) against the checkpoints they cover and the head.
    ``head_seq`` None walks a stretch that ends before the head (a slice of the full walk): only what it covers
    is checked."""
    checkpoints = list(checkpoints)
    if any(c.seq == 0 and c.hash != GENESIS for c in checkpoints):
        return Verdict(False, 0, 0, GENESIS, "a checkpoint of the empty trail has a wrong hash", 0)
    wanted = {c.seq: c.hash for c in checkpoints if c.seq > after.seq}
    verdict = partial(Verdict, from_seq=after.seq)
    seen: dict[int, str] = {}
    count = 0
    last_seq, last_hash = after.seq, after.hash
    for seq, computed, problem in walk(rows, after=after):
        if problem:
            return verdict(False, count, last_seq, last_hash, problem, seq)
        count += 1
        last_seq, last_hash = seq, computed
        if seq in wanted:
            seen[seq] = computed
            if computed != wanted[seq]:
                return verdict(False, count, last_seq, last_hash,
                               f"entry {seq} differs from the signed checkpoint (the trail was rewritten)", seq)
    if head_seq is None:
        return verdict(True, count, last_seq, last_hash)
    if head_seq > last_seq:
        return verdict(False, count, last_seq, last_hash,
                       f"the trail ends at entry {last_seq} but the head records {head_seq}: "
                       f"entries {last_seq + 1} onwards were truncated", last_seq + 1)
    if head_seq != last_seq or head_hash != last_hash:
        return verdict(False, count, last_seq, last_hash,
                       f"the head (entry {head_seq}) does not match the last entry {last_seq}", last_seq)
    for seq in sorted(wanted):
        if seq not in seen:
            return verdict(False, count, last_seq, last_hash,
                           f"a signed checkpoint covers entry {seq} but the trail ends at {last_seq}: "
                           "the tail was truncated", last_seq + 1)
    return verdict(True, count, last_seq, last_hash)
