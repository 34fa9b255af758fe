from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import CommandError

from contactpoint.audit.actions import AuditAction, Outcome, Severity
from contactpoint.audit.checkpoints import read_checkpoint_file, verify_trail, write_checkpoint
from contactpoint.audit.trail import Actor, record_event
from contactpoint.commands import ContactPointCommand
from contactpoint.monitoring.health import WITNESS_FILE, witness_checkpoint, witnessed
from contactpoint.monitoring.thresholds import MonitorSettings
from contactpoint.vault.keyring import get_keyring


class Command(ContactPointCommand):
    help = ("The audit trail: 'audit verify [--checkpoint FILE]' checks the whole chain; "
            "'audit checkpoint [--out FILE]' signs its current head and appends it to a witness file.")

    def add_arguments(self, parser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        verify = sub.add_parser("verify", help="exit 0 if the trail is intact, 1 naming the first bad entry")
        verify.add_argument("--checkpoint", type=Path, action="append", default=[],
                            help="a witness file of signed checkpoints the trail must agree with")
        checkpoint = sub.add_parser("checkpoint", help="sign the chain's head")
        checkpoint.add_argument("--out", type=Path, help="append the signed checkpoint to this witness file")
        # Witnessing (docs/monitoring.md): a directory the database's administrators cannot write, or syslog.
        checkpoint.add_argument("--witness-dir", type=Path,
                                help="append to audit-checkpoints.jsonl in this directory (default: "
                                     "CONTACTPOINT_AUDIT_WITNESS_DIR)")
        checkpoint.add_argument("--syslog", action="store_true", help="also send the checkpoint to syslog")
        verify.add_argument("--witness-dir", type=Path,
                            help="every checkpoint in this witness directory must agree with the trail")

    def handle(self, *args: Any, **options: Any) -> None:
        ring = get_keyring()
        actor = Actor.system(f"audit-{options['action']}")

        witness_dir = options.get("witness_dir") or MonitorSettings.from_env().witness_dir
        if options["action"] == "checkpoint":
            if options.get("out") is not None:
                cp = write_checkpoint(ring, options.get("out"))
            else:
                cp = witness_checkpoint(ring, witness_dir=witness_dir, to_syslog=options.get("syslog", False))
                options["out"] = witness_dir / WITNESS_FILE if witness_dir else None
            record_event(AuditAction.CHECKPOINT_WRITTEN, actor=actor, keyring=ring,
                         context={"seq": cp.seq, "hash": cp.hash, "witness": bool(options.get("out"))})
            self.stdout.write(f"checkpoint: entry {cp.seq}, hash {cp.hash}")
            return
        checkpoints = [c for path in options["checkpoint"] for c in read_checkpoint_file(path)]
        if witness_dir is not None:
            checkpoints += witnessed(witness_dir)
        verdict = verify_trail(ring, checkpoints)
        if not verdict.intact:
            # Recorded (the trail is append-only, so this entry cannot hide the break) and raised to auditors.
            record_event(AuditAction.AUDIT_VERIFIED, actor=actor, keyring=ring, outcome=Outcome.FAILED,
                         severity=Severity.ALERT, context={"problem": verdict.problem,
                                                           "first_bad_seq": verdict.first_bad_seq})
            raise CommandError(str(verdict))
        record_event(AuditAction.AUDIT_VERIFIED, actor=actor, keyring=ring,
                     context={"entries": verdict.entries, "last_seq": verdict.last_seq})
        self.stdout.write(str(verdict))
