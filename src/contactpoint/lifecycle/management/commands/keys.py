from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import CommandError
from tqdm import tqdm

from contactpoint.audit.actions import AuditAction
from contactpoint.audit.trail import Actor, record_event
from contactpoint.children.models import Child, ChildStatus
from contactpoint.children.store import reindex_all
from contactpoint.commands import ContactPointCommand
from contactpoint.lifecycle.rotation import rotate_keys
from contactpoint.vault.keyring import create_keyring_file, get_keyring
from contactpoint.vault.models import DataKey


class Command(ContactPointCommand):
    help = ("Manage the key ring: 'keys status', 'keys rotate', 'keys reindex', "
            "'keys init --out FILE [--production]'.")

    def add_arguments(self, parser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("status", help="show the key ring's KEKs and whether a rotation is under way")
        rotate = sub.add_parser("rotate", help="re-wrap every data key under a new KEK and destroy the old one; "
                                               "resumes an interrupted rotation")
        rotate.add_argument("--batch-size", type=int, default=2000)
        reindex = sub.add_parser("reindex", help="rewrite every live child's blind-index tokens (after an index is "
                                                 "added to the catalogue); safe to run again")
        reindex.add_argument("--batch-size", type=int, default=2000)
        init = sub.add_parser("init", help="create a new key ring file (never overwrites)")
        init.add_argument("--out", required=True, type=Path)
        init.add_argument("--production", action="store_true", help="mark the ring for production use")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "init":
            create_keyring_file(options["out"], "production" if options["production"] else "development")
            self.stdout.write(f"created key ring {options['out']} (mode 0600); keep a copy in your key escrow")
            return
        ring = get_keyring()
        if action == "status":
            d = ring.describe()
            self.stdout.write(f"environment: {d.environment}")
            self.stdout.write(f"active KEK: {d.active_kek_id}")
            self.stdout.write(f"retiring KEKs: {', '.join(d.retiring_kek_ids) or 'none'}")
            self.stdout.write(f"checkpoint signing key: {d.signing_key_fingerprint}")
            return
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1")
        if action == "reindex":
            live = Child.objects.filter(status=ChildStatus.LIVE)
            with tqdm(total=live.count(), unit="child", desc="re-indexing", disable=None) as bar:
                count = reindex_all(ring, batch_size=options["batch_size"], on_batch=bar.update)
            record_event(AuditAction.INDEX_REBUILT, actor=Actor.system("keys-reindex"), keyring=ring,
                         context={"children": count})
            self.stdout.write(f"re-indexed {count} live children")
            return
        actor = Actor.system("keys-rotate")
        total = DataKey.objects.count()
        resumed = bool(ring.retiring_kek_ids)
        record_event(AuditAction.KEY_ROTATION_STARTED, actor=actor, keyring=ring,
                     context={"resumed": resumed, "data_keys": total})
        with tqdm(total=total, unit="key", desc="re-wrapping data keys", disable=None) as bar:
            seen = [0]

            def progress(moved: int) -> None:
                bar.update(moved - seen[0])
                seen[0] = moved

            result = rotate_keys(ring, batch_size=options["batch_size"], on_batch=progress)
        record_event(AuditAction.KEY_ROTATION_FINISHED, actor=actor, keyring=ring,
                     context={"active_kek": result.new_kek_id, "data_keys": result.data_keys,
                              "detail_keys": result.detail_keys, "destroyed": list(result.destroyed)})
        self.stdout.write(
            f"{'resumed and ' if result.resumed else ''}finished rotation: {result.data_keys} data keys and "
            f"{result.detail_keys} audit-detail keys re-wrapped under {result.new_kek_id}; destroyed "
            f"{', '.join(result.destroyed) or 'nothing'}"
        )
