"""Benchmark of the audit trail: chained appends per second through ``record_event`` with 1 and with 8
concurrent writer processes, the chain verified afterwards (one gapless chain, every hash right), and the time
``audit verify`` takes per million entries.

    .venv/bin/python bench/bench_audit.py [--entries 20000] [--writers 1,8] [--verify-entries 1000000]
                                          [--engines postgresql]

Each writer appends search-like entries (actor, reason, three subjects, clear context and encrypted detail),
each in its own transaction, as a busy service would. For the verify timing a chain of ``--verify-entries``
entries is built directly (the same hashing as ``record_event``, bulk-inserted, to save the hours appending
them one by one would take) and then walked by ``verify_trail``, exactly as ``contactpoint audit verify`` does.

Target (issue 2): at least 2,000 chained appends/second on PostgreSQL, judged with the most writers given (a
service appends from many processes at once; one writer alone is bound by its round trips).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
import time

import harness

TARGET = 2000


def _event(i: int, writer: int):
    from contactpoint.audit.actions import AuditAction
    from contactpoint.audit.trail import Actor

    actor = Actor(f"bench.user{writer}", "LA-202", "sch3-1a")
    subjects = [f"{(writer * 10_000_000 + i * 3 + k) % 10**11:011d}X" for k in range(3)]
    return AuditAction.SEARCH, actor, subjects


def writer(task: dict) -> None:
    harness.setup_django(migrate=False)
    from datetime import UTC, datetime

    from contactpoint.audit.trail import record_event

    ring = harness.keyring()
    print("ready", flush=True)
    sys.stdin.readline()  # the parent starts every writer at once
    started = time.time()
    for i in range(task["count"]):
        action, actor, subjects = _event(i, task["writer"])
        record_event(action, actor=actor, keyring=ring, reason="child-protection", subjects=subjects,
                     context={"rule": "family_dob", "fuzzy": True, "results": 3},
                     detail={"criteria": {"family": "Smith", "birthdate": "2015-06-03"}},
                     at=datetime.now(UTC))
    harness.emit({"start": started, "end": time.time(), "count": task["count"]})


def build_chain(task: dict) -> None:
    """Append ``n`` entries by bulk insert, hashing exactly as ``record_event`` does."""
    harness.setup_django(migrate=False)
    from datetime import timedelta

    from django.db import connection, transaction

    from contactpoint.audit.chain import entry_body, entry_hash
    from contactpoint.audit.models import AuditEntry

    with connection.cursor() as cursor:
        cursor.execute("SELECT seq, hash FROM audit_head WHERE id = 1")
        seq, prev = cursor.fetchone()
    detail = base64.b64encode(os.urandom(120)).decode()
    started = time.perf_counter()
    batch = []
    for i in range(task["n"]):
        seq += 1
        action, actor, subjects = _event(i, 99)
        at = harness.NOW + timedelta(milliseconds=i)
        body = entry_body(seq=seq, at=at, action=str(action), outcome="success", severity="info", actor=actor.name,
                          actor_org=actor.organisation, actor_role=actor.role, reason="child-protection",
                          target_user="", subjects=subjects, context={"rule": "family_dob", "fuzzy": True,
                                                                      "results": 3},
                          detail=detail, detail_key="2026-11", prev_hash=prev)
        prev = entry_hash(body)
        batch.append(AuditEntry(seq=seq, at=at, action=body["action"], outcome="success", severity="info",
                                actor=actor.name, actor_org=actor.organisation, actor_role=actor.role,
                                reason="child-protection", target_user="", subjects=subjects,
                                context=body["context"], detail=detail, detail_key="2026-11", prev_hash=body["prev"],
                                hash=prev))
        if len(batch) == 5000:
            with transaction.atomic():
                AuditEntry.objects.bulk_create(batch)
            batch = []
    with transaction.atomic():
        AuditEntry.objects.bulk_create(batch)
        with connection.cursor() as cursor:
            cursor.execute("UPDATE audit_head SET seq = %s, hash = %s WHERE id = 1", [seq, prev])
    harness.emit({"built_s": time.perf_counter() - started, "n": task["n"]})


def verify(task: dict) -> None:
    harness.setup_django(migrate=False)
    from contactpoint.audit.checkpoints import verify_trail

    started = time.perf_counter()
    verdict = verify_trail(harness.keyring(), record=False)
    harness.emit({"verify_s": time.perf_counter() - started, "intact": verdict.intact, "entries": verdict.entries,
                  "verdict": str(verdict)})


def migrate(task: dict) -> None:
    harness.setup_django()
    harness.keyring()  # the development key ring is created once, before the writers race to read it
    harness.emit({})


def run_writers(count: int, per_writer: int, env: dict[str, str]) -> dict:
    return harness.run_together(__file__, [{"kind": "writer", "writer": w, "count": per_writer}
                                           for w in range(count)], env)


WORKERS = {"writer": writer, "build_chain": build_chain, "verify": verify, "migrate": migrate}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=20000, help="entries appended in each writer phase")
    parser.add_argument("--writers", default="1,8", help="comma-separated numbers of concurrent writers")
    parser.add_argument("--verify-entries", type=int, default=1_000_000)
    parser.add_argument("--engines", default="postgresql")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        task = json.loads(args.worker)
        return WORKERS[task["kind"]](task)
    print(f"audit benchmark: {harness.machine()}")
    for engine in args.engines.split(","):
        with harness.throwaway_database(engine, "audit") as db:
            env = harness.worker_env(db)
            harness.run_worker(__file__, {"kind": "migrate"}, env)
            print(f"{engine}: {'writers':>7} {'entries':>8} {'wall s':>7} {'appends/s':>10}", flush=True)
            appended = 0
            counts = harness.sizes_arg(args.writers)
            for count in counts:
                r = run_writers(count, args.entries // count, env)
                appended += r["total"]
                if count == max(counts):  # the service's rate: many processes append at once
                    verdict = f"[{'met' if r['rate'] >= TARGET else 'NOT met'}: >= {TARGET:,}/s]"
                else:
                    verdict = "(fewer writers: each waits for its own round trips in turn)"
                print(f"{engine}: {count:>7} {r['total']:>8,} {r['wall_s']:>7.1f} {r['rate']:>10,.0f}  {verdict}",
                      flush=True)
            v = harness.run_worker(__file__, {"kind": "verify"}, env)
            print(f"{engine}: chain after the writers: {v['verdict']} (expected {appended:,} entries; "
                  f"{'one gapless chain' if v['intact'] and v['entries'] == appended else 'PROBLEM'})", flush=True)
            if args.verify_entries:
                b = harness.run_worker(__file__, {"kind": "build_chain", "n": args.verify_entries}, env)
                v = harness.run_worker(__file__, {"kind": "verify"}, env)
                per_million = v["verify_s"] / v["entries"] * 1_000_000
                print(f"{engine}: verify {v['entries']:,} entries: {v['verify_s']:.1f} s "
                      f"({v['entries'] / v['verify_s']:,.0f} entries/s; {per_million:.0f} s per 1M entries; "
                      f"intact={v['intact']}; chain built in {b['built_s']:.0f} s; verifier peak "
                      f"{v['maxrss_mib']:,.0f} MiB)", flush=True)
    print(f"finished with {harness.machine()}")


if __name__ == "__main__":
    sys.exit(main())
