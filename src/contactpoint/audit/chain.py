"""The hash chain: how an entry is hashed, and how the whole trail is verified.

    hash(n) = SHA-256( RFC 8785 canonical JSON of entry n, which includes seq n and hash(n-1) )

The first entry's previous hash is 64 zeros. Verification walks the entries in ``seq`` order and reports the
first that is missing, out of place, altered, or whose predecessor was; then compares the tail with the head
row and with any signed checkpoint, so a truncated or rewritten trail is caught too.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import rfc8785

GENESIS = "0" * 64


def format_at(at: datetime) -> str:
    return at.isoformat(timespec="microseconds")


def entry_body(
    *, seq: int, at: datetime, action: str, outcome: str, severity: str, actor: str, actor_org: str,
    actor_role: str, reason: str, target_user: str, subjects: list[str], context: dict[str, Any], detail: str,
    detail_key: str,
    prev_hash: str,
) -> dict[str, Any]:
    return {
        "seq": seq, "at": format_at(at), "action": action, "outcome": outcome, "severity": severity,
        "actor": actor, "actor_org": actor_org, "actor_role": actor_role, "reason": reason,
        "target_user": target_user, "subjects": list(subjects), "context": context, "detail": detail,
        "detail_key": detail_key,
        "prev": prev_hash,
    }


def entry_hash(body: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(body)).hexdigest()


SAFE_INT = 2**53 - 1  # the largest integer JSON carries exactly (RFC 8785, I-JSON)


def _plain(value: Any) -> bool:
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
    )


@dataclass(frozen=True)
class Verdict:
    intact: bool
    entries: int
    last_seq: int
    last_hash: str
    problem: str = ""
    first_bad_seq: int | None = None

    def __str__(self) -> str:
        if self.intact:
            return f"audit trail intact: {self.entries} entries, last seq {self.last_seq}, hash {self.last_hash}"
        return f"audit trail NOT intact: {self.problem}"


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    hash: str


def walk(rows: Iterable[Any]) -> Iterator[tuple[int, str, str | None]]:
    """Yields (seq, computed hash, problem or None) for each row in order, stopping at the first problem."""
    expected_seq = 1
    prev = GENESIS
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
        computed = entry_hash(body_of_row(row))
        if computed != row.hash:
            yield row.seq, prev, f"entry {row.seq} has been altered (its hash does not match its content)"
            return
        yield row.seq, computed, None
        prev = computed
        expected_seq += 1


def verify_rows(
    rows: Iterable[Any], *, head_seq: int, head_hash: str, checkpoints: Iterable[Checkpoint] = ()
) -> Verdict:
    checkpoints = list(checkpoints)
    if any(c.seq == 0 and c.hash != GENESIS for c in checkpoints):
        return Verdict(False, 0, 0, GENESIS, "a checkpoint of the empty trail has a wrong hash", 0)
    wanted = {c.seq: c.hash for c in checkpoints if c.seq > 0}
    seen: dict[int, str] = {}
    count = 0
    last_seq, last_hash = 0, GENESIS
    for seq, computed, problem in walk(rows):
        if problem:
            return Verdict(False, count, last_seq, last_hash, problem, seq)
        count += 1
        last_seq, last_hash = seq, computed
        if seq in wanted:
            seen[seq] = computed
            if computed != wanted[seq]:
                return Verdict(False, count, last_seq, last_hash,
                               f"entry {seq} differs from the signed checkpoint (the trail was rewritten)", seq)
    if head_seq > last_seq:
        return Verdict(False, count, last_seq, last_hash,
                       f"the trail ends at entry {last_seq} but the head records {head_seq}: "
                       f"entries {last_seq + 1} onwards were truncated", last_seq + 1)
    if head_seq != last_seq or head_hash != last_hash:
        return Verdict(False, count, last_seq, last_hash,
                       f"the head (entry {head_seq}) does not match the last entry {last_seq}", last_seq)
    for seq in sorted(wanted):
        if seq not in seen:
            return Verdict(False, count, last_seq, last_hash,
                           f"a signed checkpoint covers entry {seq} but the trail ends at {last_seq}: "
                           "the tail was truncated", last_seq + 1)
    return Verdict(True, count, last_seq, last_hash)
