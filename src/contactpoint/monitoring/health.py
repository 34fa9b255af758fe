"""The audit trail's health, for the auditors' page and the monitor's own checks.

- Checkpoints must keep coming (``contactpoint audit checkpoint`` runs hourly): none for longer than
  ``checkpoint_max_age_minutes`` raises an alert.
- The latest checkpoint in the outside witness (``CONTACTPOINT_AUDIT_WITNESS_DIR``, a directory the database's
  administrators cannot write) must be signed by our key and agree with the chain: the entry it names must still
  exist with the same hash, and the head must not be behind it. A truncated trail, or one rewritten and
  re-hashed from some entry onwards, fails this at once, even if the rewriter also changed the checkpoints kept
  in the database.
- Every ``verify_every_hours`` the monitor walks the whole chain against every witnessed checkpoint.
"""

from __future__ import annotations

import syslog
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from contactpoint.audit.actions import AuditAction, Outcome, Severity
from contactpoint.audit.checkpoints import (
    SignedCheckpoint,
    check_signature,
    read_checkpoint_file,
    verify_trail,
    write_checkpoint,
)
from contactpoint.audit.models import AuditCheckpoint, AuditEntry, AuditHead, AuditVerification
from contactpoint.audit.trail import Actor, record_event
from contactpoint.errors import AuditError
from contactpoint.monitoring.alerts import raise_alert
from contactpoint.monitoring.engine import lag
from contactpoint.monitoring.models import MonitorState
from contactpoint.monitoring.rules import Finding, Rule
from contactpoint.monitoring.thresholds import MonitorSettings
from contactpoint.vault.keyring import KeyRing

WITNESS_FILE = "audit-checkpoints.jsonl"


@dataclass(frozen=True)
class TrailHealth:
    chain_length: int
    last_verification: AuditVerification | None
    last_checkpoint: AuditCheckpoint | None
    witness: MonitorState | None
    monitor_lag: int
    monitor_seq: int

    @property
    def verified_ok(self) -> bool:
        return self.last_verification is not None and self.last_verification.intact


def trail_health() -> TrailHealth:
    behind, seq = lag()
    return TrailHealth(
        chain_length=AuditHead.objects.filter(pk=1).values_list("seq", flat=True).first() or 0,
        last_verification=AuditVerification.objects.order_by("-at").first(),
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
            verdict = verify_trail(keyring, witnessed_checkpoints, at=now)
            problem = "" if verdict.intact else verdict.problem
            first_bad = verdict.first_bad_seq
        except AuditError as error:
            problem, first_bad = error.message, None
        _state("verified", now, not problem, problem or "intact")
        record_event(AuditAction.AUDIT_VERIFIED, actor=actor, keyring=keyring, at=now,
                     outcome=Outcome.FAILED if problem else Outcome.SUCCESS,
                     severity=Severity.ALERT if problem else Severity.INFO,
                     context={"problem": problem, "first_bad_seq": first_bad} if problem else {"by": "monitor"})
        if problem:
            problems.append(problem)
            _alert(keyring, now, f"broken:{first_bad}", problem=problem)
    return problems
