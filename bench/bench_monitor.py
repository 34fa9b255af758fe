"""Benchmark of the misuse monitor: audit events per second the rules process.

    .venv/bin/python bench/bench_monitor.py [--days 5] [--users 500] [--engines sqlite,postgresql]

A worker builds the replay test's synthetic world (tests/monitoring/seed.py: users with watched identities,
children, involvements) in a throwaway database, writes ``--days`` working days of practitioner activity through
``record_event`` (searches with encrypted criteria, views, sign-ins, refusals), then times the monitor catching
up over all of it in its normal batches: every rule, the counters, the decryption of every search's criteria.

Target (issue 7): the monitor keeps up with 100 audit events/second.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from datetime import date

import harness

TARGET = 100


def work(task: dict) -> None:
    harness.setup_django()
    sys.path.insert(0, str(harness.ROOT))
    import time_machine
    from django.utils import timezone

    from contactpoint.audit.models import AuditEntry
    from contactpoint.monitoring.engine import catch_up
    from contactpoint.monitoring.models import Alert
    from contactpoint.monitoring.thresholds import MonitorSettings
    from tests.monitoring.seed import SurnameLaw, World

    ring = harness.keyring()
    first = date(2026, 11, 2)
    with time_machine.travel(harness.NOW, tick=False):
        world = World(random.Random(7), SurnameLaw(), ring)
        world.build(users=task["users"], children=3000, now=timezone.now())
        started = time.perf_counter()
        world.benign(first, task["days"])
        written = time.perf_counter() - started
    entries = AuditEntry.objects.count()
    started = time.perf_counter()
    read = catch_up(ring, MonitorSettings())
    seconds = time.perf_counter() - started
    harness.emit({"entries": entries, "read": read, "seconds": round(seconds, 2),
                  "events_per_second": round(read / seconds), "write_per_second": round(world.events / written),
                  "alerts": Alert.objects.count()})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=5)
    parser.add_argument("--users", type=int, default=500)
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--worker")
    args = parser.parse_args()
    if args.worker:
        return work(json.loads(args.worker))
    print(f"bench_monitor: {harness.machine()}")
    for engine in args.engines.split(","):
        with harness.throwaway_database(engine, "monitor") as db:
            r = harness.run_worker(__file__, {"days": args.days, "users": args.users}, harness.worker_env(db))
        verdict = "meets" if r["events_per_second"] >= TARGET else "MISSES"
        print(f"{engine:<11} {r['read']:>8,} entries judged in {r['seconds']:>6.1f} s = "
              f"{r['events_per_second']:>6,} events/s ({verdict} the {TARGET}/s target; written at "
              f"{r['write_per_second']:,}/s; {r['alerts']} alerts; peak {r['maxrss_mib']} MiB)")


if __name__ == "__main__":
    main()
