from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import CommandError
from django.utils import timezone

from contactpoint.audit import partitions
from contactpoint.audit.actions import AuditAction, Outcome, Severity
from contactpoint.audit.checkpoints import read_checkpoint_file, verify_recent, verify_trail, write_checkpoint
from contactpoint.audit.trail import Actor, record_event
from contactpoint.commands import ContactPointCommand
from contactpoint.errors import AuditError
from contactpoint.monitoring.health import WITNESS_FILE, full_walk_step, witness_checkpoint, witnessed
from contactpoint.monitoring.thresholds import MonitorSettings
from contactpoint.vault.keyring import get_keyring


class Command(ContactPointCommand):
    help = ("The audit trail: 'audit verify' checks what was written since the last verification ('--full': the "
            "whole chain; '--step': the next slice of the worker's full walk); 'audit checkpoint [--out FILE]' "
            "signs its current head and appends it to a witness file; 'audit partitions' lists the monthly "
            "partitions (PostgreSQL), '--ensure' makes a year ahead, '--move YYYY-MM --tablespace NAME' moves an "
            "old month to other storage.")

    def add_arguments(self, parser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        verify = sub.add_parser("verify", help="exit 0 if the trail is intact, 1 naming the first bad entry")
        how = verify.add_mutually_exclusive_group()
        how.add_argument("--full", action="store_true", help="walk the whole chain from its first entry now")
        how.add_argument("--step", action="store_true",
                         help="the next slice of the full walk the worker does daily (its 'verify-full' schedule)")
        parts = sub.add_parser("partitions", help="the trail's monthly partitions on PostgreSQL")
        parts.add_argument("--ensure", action="store_true", help="make the partitions a year ahead")
        parts.add_argument("--move", metavar="YYYY-MM", help="move this past month's partition ...")
        parts.add_argument("--tablespace", help="... to this tablespace")
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
        if options["action"] == "partitions":
            self._partitions(options, actor, ring)
            return
        if options["step"]:
            self.stdout.write(full_walk_step(ring, MonitorSettings.from_env(), timezone.now()))
            return
        checkpoints = [c for path in options["checkpoint"] for c in read_checkpoint_file(path)]
        if witness_dir is not None:
            checkpoints += witnessed(witness_dir)
        verdict = (verify_trail if options["full"] else verify_recent)(ring, checkpoints)
        if not verdict.intact:
            # Recorded (the trail is append-only, so this entry cannot hide the break) and raised to auditors.
            record_event(AuditAction.AUDIT_VERIFIED, actor=actor, keyring=ring, outcome=Outcome.FAILED,
                         severity=Severity.ALERT, context={"problem": verdict.problem,
                                                           "first_bad_seq": verdict.first_bad_seq})
            raise CommandError(str(verdict))
        record_event(AuditAction.AUDIT_VERIFIED, actor=actor, keyring=ring,
                     context={"entries": verdict.entries, "last_seq": verdict.last_seq,
                              "from_seq": verdict.from_seq, "full": bool(options["full"])})
        self.stdout.write(str(verdict))

    def _partitions(self, options: dict[str, Any], actor: Actor, ring) -> None:
        if not partitions.partitioned():
            self.stdout.write("the audit trail is one table on SQLite; partitions are made on PostgreSQL only")
            return
        today = timezone.now().date()
        if options["move"] or options["tablespace"]:
            if not (options["move"] and options["tablespace"]):
                raise CommandError("--move YYYY-MM and --tablespace NAME go together")
            try:
                name = partitions.move(options["move"], options["tablespace"], today=today)
            except AuditError as error:
                raise CommandError(error.message) from None
            record_event(AuditAction.AUDIT_PARTITIONS, actor=actor, keyring=ring,
                         context={"moved": name, "tablespace": options["tablespace"]})
            self.stdout.write(f"{name} moved to tablespace {options['tablespace']}")
            return
        if options["ensure"]:
            made = partitions.ensure(today)
            if made:
                record_event(AuditAction.AUDIT_PARTITIONS, actor=actor, keyring=ring, context={"made": made})
            self.stdout.write(f"{len(made)} partitions made" + (f": {', '.join(made)}" if made else ""))
            return
        for p in partitions.listing():
            self.stdout.write(f"{p.month:<8} {p.name:<24} about {p.entries:>12,} entries {p.bytes / 2**20:>10,.1f} MiB "
                              f"{p.tablespace}")
