from __future__ import annotations

import argparse
import os
import signal
import threading
import time
from typing import Any

from django.core.management import call_command
from django.utils import timezone

from contactpoint.commands import ContactPointCommand
from contactpoint.ingest.jobs import SCHEDULES, queue_schedules, recover


class Command(ContactPointCommand):
    help = ("Run the service's jobs: feeds sent over the API, and the schedules (the monitor every minute, an "
            "audit checkpoint hourly, the audit trail's full verification (in slices), partitions and the "
            "lifecycle daily, term frequencies monthly, silent sources hourly). Run one, and keep it running "
            "(systemd); Ctrl-C stops it after the job in hand.")

    def add_arguments(self, parser) -> None:
        parser.add_argument("--no-recover", action="store_true",
                            help="a second worker: do not requeue what a stopped worker left (the first does)")
        parser.add_argument("--batch", action="store_true", help="run what is due, then stop")
        parser.add_argument("--interval", type=float, default=1.0, help="seconds between looks at the queue")
        parser.add_argument("--parent", type=int, help=argparse.SUPPRESS)  # serve --with-worker: stop with it

    def handle(self, *args: Any, **options: Any) -> None:
        if options["parent"]:
            _stop_when_gone(options["parent"])
        if not options["no_recover"]:
            resumed = recover(timezone.now())
            queued = queue_schedules()
            self.stdout.write(f"worker: {len(SCHEDULES)} schedules ({queued} queued now), {resumed} feed jobs "
                              "put back in the queue")
        self.stdout.flush()
        worker_options: dict[str, Any] = {"interval": options["interval"], "reload": False,
                                          "startup_delay": False}
        if options["batch"]:
            worker_options["batch"] = True
        call_command("db_worker", **worker_options)


def _stop_when_gone(parent: int) -> None:
    """Stop (as Ctrl-C would: after the job in hand) when the process that started this worker is gone, so that
    a demo server stopped by a signal does not leave its worker running."""
    def watch() -> None:
        while True:
            time.sleep(2)
            try:
                os.kill(parent, 0)
            except ProcessLookupError:
                os.kill(os.getpid(), signal.SIGTERM)
                return

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()
