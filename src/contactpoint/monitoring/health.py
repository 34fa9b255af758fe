"""The audit trail's health, for the auditors' page and the monitor's own checks.

- Checkpoints must keep coming (``contactpoint audit checkpoint`` runs hourly): none for longer than
  ``checkpoint_max_age_minutes`` raises an alert.
- The latest checkpoint in the outside witness (``CONTACTPOINT_AUDIT_WITNESS_DIR``, a directory the database's
  administrators cannot write) must be signed by our key and agree with the chain: the entry it names must still
  exist with the same hash, and the head must not be behind it. A truncated trail, or one rewritten and
  re-hashed from some entry onwards, fails this at once, even if the rewriter also changed the checkpoints kept
  in the database.
- Every ``verify_every_hours`` the monitor verifies what was written since the last verification
  (``verify_recent``: from the newest signed checkpoint already passed to the head), in seconds however long the
  trail: the misuse rules are never held up behind it.
- The full walk from the first entry, every ``full_walk_every_hours``, is the worker's "verify-full" schedule,
  in slices of ``full_walk_slice_seconds`` (``full_walk_step``), so that a walk of a billion entries (hours)
  never stops the monitor's passes, which run between the slices.
"""

from __future__ import annotations

import json
import syslog
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from contactpoint.audit.actions import AuditAction, Outcome, Severity
from contactpoint.audit.chain import GENESIS, Checkpoint, Verdict, verify_rows
from contactpoint.audit.checkpoints import (
    SignedCheckpoint,
    anchor_problem,
    beyond_head,
    check_signature,
    entries_between,
    read_checkpoint_file,
    signed_checkpoints,
    verify_recent,
    write_checkpoint,
)
from contactpoint.audit.models import AuditCheckpoint, AuditEntry, AuditHead, AuditVerification
from contactpoint.audit.trail import Actor, record_event, seal_pending
from contactpoint.errors import AuditError
from contactpoint.monitoring.alerts import raise_alert
from contactpoint.monitoring.engine import lag
from contactpoint.monitoring.models import MonitorState
from contactpoint.monitoring.rules import Finding, Rule
from contactpoint.monitoring.thresholds import MonitorSettings
from contactpoint.vault.keyring import KeyRing

WITNESS_FILE = "audit-checkpoints.jsonl"
FULL_WALK = "full-walk"  # MonitorState: how far the walk in progress has come (JSON), absent between walks


@dataclass(frozen=True)
class TrailHealth:
    chain_length: int
    last_verification: AuditVerification | None  # the newest of either kind
    last_checkpoint: AuditCheckpoint | None
    witness: MonitorState | None
    monitor_lag: int
    monitor_seq: int
    last_full: AuditVerification | None = None  # the newest full walk
    walk_reached: int | None = None  # how far the full walk in progress has come

    def checkpoints_stale(self, now: datetime, settings: MonitorSettings) -> bool:
        """No checkpoint, or none signed for longer than the monitor allows (the auditors' pages warn of it)."""
        return self.last_checkpoint is None or \
            now - self.last_checkpoint.at > timedelta(minutes=settings.checkpoint_max_age_minutes)

    @property
    def verified_ok(self) -> bool:
        # A later check of the newest entries does not clear a break the full walk found.
        return self.last_verification is not None and self.last_verification.intact and \
            (self.last_full is None or self.last_full.intact)


def trail_health() -> TrailHealth:
    behind, seq = lag()
    walking = MonitorState.objects.filter(key=FULL_WALK).first()
    return TrailHealth(
        chain_length=AuditHead.objects.filter(pk=1).values_list("seq", flat=True).first() or 0,
        last_full=AuditVerification.objects.filter(full=True).order_by("-at", "-id").first(),
        walk_reached=int(json.loads(walking.message)["seq"]) if walking else None,
        last_verification=AuditVerification.objects.order_by("-at", "-id").first(),
        last_checkpoint=AuditCheckpoint.objects.order_by("-at", "-seq").first(),
        witness=MonitorState.objects.filter(key="witness").first(),
        monitor_lag=behind, monitor_seq=seq)


# --- writing to the witness ---------------------------------------------------------------------------------

def witness_checkpoint(keyring: KeyRing, *, witness_dir: Path | None, to_syslog: bool = False,
                       at: datetime | None = None) -> SignedCheckpoint:
    """Sign the chain's head and append it to the witness directory's file and/or syslog (``LOG_AUTHPRIV``,
    which a central log server keeps out of the database administrators' reach)."""
    checkpoint = write_checkpoint(keyring, witness_dir / WITNESS_FILE if witness_dir else None, at=at)
    if to_syslog:
        syslog.openlog("contactpoint-audit", 0, syslog.LOG_AUTHPRIV)
        syslog.syslog(syslog.LOG_NOTICE, checkpoint.to_json())
    return checkpoint


def witnessed(witness_dir: Path) -> list[SignedCheckpoint]:
    """Every checkpoint in the witness directory (``*.jsonl`` files), in order of ``seq``."""
    found: list[SignedCheckpoint] = []
    for path in sorted(witness_dir.glob("*.jsonl")):
        found.extend(read_checkpoint_file(path))
    return sorted(found, key=lambda c: (c.seq, c.at))


def check_witness(keyring: KeyRing, witness_dir: Path) -> str:
    """"" when the latest witnessed checkpoint agrees with the chain, else what is wrong."""
    try:
        checkpoints = witnessed(witness_dir)
    except AuditError as error:
        return error.message
    if not checkpoints:
        return f"the witness directory {witness_dir} holds no checkpoints"
    latest = checkpoints[-1]
    try:
        check_signature(keyring, latest)
    except AuditError as error:
        return error.message
    head = AuditHead.objects.filter(pk=1).values_list("seq", flat=True).first() or 0
    if head < latest.seq:
        return (f"the trail ends at entry {head} but the witness saw entry {latest.seq}: "
                f"entries after {head} were truncated")
    stored = AuditEntry.objects.filter(seq=latest.seq).values_list("hash", flat=True).first()
    if stored is None:
        return f"entry {latest.seq}, which the witness saw, is missing: the trail was truncated"
    if stored != latest.hash:
        return f"entry {latest.seq} differs from the witnessed checkpoint: the trail was rewritten"
    return ""


# --- the monitor's health step ------------------------------------------------------------------------------

def _state(key: str, now: datetime, ok: bool, message: str) -> None:
    MonitorState.objects.update_or_create(key=key, defaults={"at": now, "ok": ok, "message": message})


def _alert(keyring: KeyRing, now: datetime, key: str, **evidence) -> None:
    raise_alert(Finding(Rule.AUDIT_TRAIL, f"{Rule.AUDIT_TRAIL}:{key}", "", "", now, evidence=evidence),
                keyring=keyring, now=now)


def check_health(keyring: KeyRing, settings: MonitorSettings, now: datetime) -> list[str]:
    """Run the trail's health checks; raise alerts for what fails. Returns the problems found."""
    problems: list[str] = []
    actor = Actor.system("monitor")
    last = AuditCheckpoint.objects.order_by("-at").first()
    oldest = AuditEntry.objects.order_by("seq").values_list("at", flat=True).first()
    since = last.at if last else oldest
    if since is not None and now - since > timedelta(minutes=settings.checkpoint_max_age_minutes):
        problem = ("no checkpoint has ever been written" if last is None
                   else f"no checkpoint since {since:%Y-%m-%d %H:%M} UTC (entry {last.seq})")
        problems.append(problem)
        _alert(keyring, now, f"checkpoints:{last.seq if last else 0}", problem=problem)

    witnessed_checkpoints: list[SignedCheckpoint] = []
    if settings.witness_dir is not None:
        problem = check_witness(keyring, settings.witness_dir)
        _state("witness", now, not problem, problem or "the latest witnessed checkpoint agrees with the trail")
        if problem:
            problems.append(problem)
            _alert(keyring, now, f"witness:{problem}"[:150], problem=problem)
            record_event(AuditAction.WITNESS_CHECKED, actor=actor, keyring=keyring, at=now, outcome=Outcome.FAILED,
                         severity=Severity.ALERT, context={"problem": problem})
        else:
            witnessed_checkpoints = witnessed(settings.witness_dir)

    walked = MonitorState.objects.filter(key="verified").first()
    if walked is None or walked.at is None or now - walked.at >= timedelta(hours=settings.verify_every_hours):
        try:
            verdict = verify_recent(keyring, witnessed_checkpoints, at=now)
            problem = "" if verdict.intact else verdict.problem
            first_bad = verdict.first_bad_seq
        except AuditError as error:
            problem, first_bad = error.message, None
        _state("verified", now, not problem, problem or "intact")
        _verified(keyring, now, problem, first_bad, by="monitor")
        if problem:
            problems.append(problem)
    return problems


def _verified(keyring: KeyRing, now: datetime, problem: str, first_bad: int | None, *, by: str,
              entries: int | None = None) -> None:
    context: dict[str, object] = {"by": by}
    if entries is not None:
        context["entries"] = entries
    if problem:
        context |= {"problem": problem, "first_bad_seq": first_bad}
    record_event(AuditAction.AUDIT_VERIFIED, actor=Actor.system("monitor"), keyring=keyring, at=now,
                 outcome=Outcome.FAILED if problem else Outcome.SUCCESS,
                 severity=Severity.ALERT if problem else Severity.INFO, context=context)
    if problem:
        _alert(keyring, now, f"broken:{first_bad}", problem=problem)


# --- the full walk, a slice at a time -----------------------------------------------------------------------

def _until(rows: Iterable, deadline: float, stopped: list[bool]) -> Iterator:
    # The clock is read every thousand entries (about 20 ms of walking): often enough, and cheap.
    for n, row in enumerate(rows):
        if n and n % 1000 == 0 and time.monotonic() > deadline:
            stopped.append(True)
            return
        yield row


def full_walk_step(keyring: KeyRing, settings: MonitorSettings, now: datetime, *,
                   seconds: float | None = None) -> str:
    """Walk the next slice of the full verification, starting one if it is due; return what was done.

    The walk's progress (entry and hash reached) is kept between slices; the next slice first checks that the
    entry it resumes from still hashes as it did. Checkpoints are checked as the walk passes them, the head when
    it arrives; a break anywhere is an alert at once, and the next walk begins from the first entry."""
    seconds = settings.full_walk_slice_seconds if seconds is None else seconds
    state = MonitorState.objects.filter(key=FULL_WALK).first()
    if state is None:
        last = AuditVerification.objects.filter(full=True).order_by("-at").values_list("at", flat=True).first()
        if last is not None and now - last < timedelta(hours=settings.full_walk_every_hours):
            return "not due"
        progress: dict[str, Any] = {"seq": 0, "hash": GENESIS, "entries": 0, "started": now.isoformat()}
    else:
        progress = json.loads(state.message)
    after = Checkpoint(int(progress["seq"]), str(progress["hash"]))
    witnessed_checkpoints = witnessed(settings.witness_dir) if settings.witness_dir is not None else []
    try:
        signed = [Checkpoint(c.seq, c.hash) for c in signed_checkpoints(keyring, witnessed_checkpoints)]
        seal_pending()
        head = AuditHead.objects.get(pk=1)
        problem = anchor_problem(after, what="the full walk's last slice")
        stopped: list[bool] = []
        if problem:
            verdict = Verdict(False, 0, after.seq, after.hash, problem, after.seq)
        else:
            rows = entries_between(after.seq, head.seq)
            verdict = verify_rows(_until(rows, time.monotonic() + seconds, stopped), head_seq=None,
                                  checkpoints=signed, after=after)
            if not stopped and verdict.intact:
                # The walk reached the head it read: now the checks of the end (the head, checkpoints beyond it).
                walked = verdict.entries
                verdict = beyond_head(verify_rows([], head_seq=head.seq, head_hash=head.hash, checkpoints=signed,
                                                  after=Checkpoint(verdict.last_seq, verdict.last_hash)))
                verdict = replace(verdict, entries=walked)
    except AuditError as error:
        verdict, stopped = Verdict(False, 0, after.seq, after.hash, error.message, None), []
    entries = int(progress["entries"]) + verdict.entries
    if verdict.intact and stopped:
        progress |= {"seq": verdict.last_seq, "hash": verdict.last_hash, "entries": entries}
        MonitorState.objects.update_or_create(key=FULL_WALK, defaults={"at": now, "ok": True,
                                                                       "message": json.dumps(progress)})
        return f"walked to entry {verdict.last_seq} ({entries} entries so far)"
    MonitorState.objects.filter(key=FULL_WALK).delete()
    message = (f"audit trail intact: {entries} entries, last seq {verdict.last_seq}, hash {verdict.last_hash}"
               if verdict.intact else f"audit trail NOT intact: {verdict.problem}")
    AuditVerification.objects.create(at=now, intact=verdict.intact, entries=entries, message=message, full=True,
                                     from_seq=0, last_seq=verdict.last_seq)
    _verified(keyring, now, verdict.problem, verdict.first_bad_seq, by="full-walk", entries=entries)
    return message
