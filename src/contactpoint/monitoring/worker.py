"""``contactpoint monitor run``: the loop that keeps the monitor within seconds of the audit trail.

Every ``interval`` seconds it reads every new entry (rules) and runs the trail's health checks. With the
default interval of 10 seconds a new entry is judged within about 10 seconds, far inside the 60 the service
promises. It stops cleanly on SIGTERM/SIGINT between batches (each batch is one transaction).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime

from django.db import close_old_connections, connection
from django.utils import timezone

from contactpoint.audit.trail import seal_pending
from contactpoint.monitoring.engine import catch_up
from contactpoint.monitoring.health import check_health
from contactpoint.monitoring.thresholds import MonitorSettings
from contactpoint.vault.keyring import KeyRing

log = logging.getLogger("contactpoint.monitoring")


def run(keyring: KeyRing, settings: MonitorSettings, *, interval: float = 10.0, once: bool = False,
        stop: threading.Event | None = None, clock: Callable[[], datetime] = timezone.now,
        health: bool = True) -> int:
    """Run until ``stop`` is set (or once). Returns the number of entries read."""
    stop = stop or threading.Event()
    total = 0
    while not stop.is_set():
        close_old_connections()  # a long-running process must not hold a connection the database dropped
        try:
            seal_pending()  # an entry a crashed writer left unlinked must not escape the rules
            read = catch_up(keyring, settings, stop=stop)
            total += read
            if health:
                for problem in check_health(keyring, settings, clock()):
                    log.warning("audit trail: %s", problem)
            if read and not once:  # a single pass says its total once, on stdout (``monitor run --once``)
                log.info("monitor read %d audit entries", read)
        except Exception:
            if once:
                raise
            # Logged without the entry's content; the next pass retries from the same cursor.
            log.exception("monitor pass failed; retrying in %s seconds", interval)
        if once:
            break
        stop.wait(interval)
    connection.close()  # this thread's connection (the worker may run in a thread of its own)
    return total
