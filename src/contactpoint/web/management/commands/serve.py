from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

from contactpoint.commands import ContactPointCommand
from contactpoint.config import get_settings

# Access log lines carry the path only (%(U)s), never the query string: search criteria are personal data.
# The request id ends each line: the same id is on every audit entry the request wrote (docs/monitoring.md).
ACCESS_LOG_FORMAT = '%(h)s %(t)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms %({x-request-id}o)s'


class Command(ContactPointCommand):
    help = "Serve ContactPoint with gunicorn (behind a TLS-terminating proxy in production)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--workers", type=int, default=2)
        parser.add_argument("--threads", type=int, default=4)
        parser.add_argument("--with-worker", action="store_true",
                            help="also start `contactpoint worker` (the jobs and schedules), as the demo does; in "
                                 "production run it as a service of its own")

    def handle(self, *args: Any, **options: Any) -> None:
        argv = [sys.executable, "-m", "gunicorn", "contactpoint.wsgi:application",
                "--bind", f"{options['host']}:{options['port']}", "--workers", str(options["workers"]),
                "--threads", str(options["threads"]), "--access-logfile", "-",
                "--access-logformat", ACCESS_LOG_FORMAT,
                # The scheme (X-Forwarded-Proto) believed from the proxies the service trusts for the client's
                # address too (CONTACTPOINT_TRUSTED_PROXIES), else only from this machine.
                "--forwarded-allow-ips", ",".join(str(n) for n in get_settings().trusted_proxies) or "127.0.0.1"]
        if options["with_worker"]:
            # A process of its own, in the same process group: Ctrl-C stops it with the server.
            subprocess.Popen([sys.executable, "-m", "contactpoint.cli", "worker", "--parent", str(os.getpid())])
            self.stdout.write("The worker runs feeds sent over the API, the monitor, checkpoints and the lifecycle.")
        self.stdout.write(f"ContactPoint is at http://{options['host']}:{options['port']}/ (Ctrl-C to stop)")
        self.stdout.flush()
        os.execv(sys.executable, argv)
