"""Benchmark of the audit trail as it grows (issue 17): the access reports, appends and verification at 2 million
and at 20 million entries on PostgreSQL, so that what grows with the trail shows.

    .venv/bin/python bench/bench_audit_decade.py [--sizes 2000000,20000000] [--months 10] [--probes 40]
                                                 [--writers 8] [--append-entries 16000] [--day 1300000]

The trail is filled in ``seq`` order with a valid chain (hashed exactly as ``record_event`` does, written with
COPY, since appending 20 million entries one by one would take two hours), spread over ``--months`` months so
that it lands in monthly partitions, with the mix a national service writes: searches naming one to ten
children (with encrypted criteria), record views naming one, sign-ins naming none, by 60,000 users, about a
child in eleven million each time. About 630 bytes an entry, as measured in the service (20M: about 13 GB with
indexes; the database is dropped afterwards).

At each size:
- **child access report**: ``monitoring.reports.child_report`` for ``--probes`` children named in the trail, as
  a national auditor (the report's own audit entry included); p50 and p95.
- **user report**: ``user_report`` for as many users (each has done about size / 60,000 things).
- **appends/s** with ``--writers`` concurrent writer processes through ``record_event``.
- **incremental verify**: a checkpoint is signed and verified, then a day of entries at national use
  (``--day``; 0.3 TB a year at 630 bytes is 1.3 million a day) is added and ``verify_recent`` timed, as the
  monitor runs it.

Targets: child access report <= 1 s and flat from 2M to 20M; appends/s with 8 writers no lower than 2,600/s (the
figure before partitioning); incremental verify after a day's entries in seconds.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import sys
import time

import bench_audit
import harness
from stdnum.iso7064 import mod_37_36

USERS = 60_000
CHILD_POOL = 11_000_000
APPEND_TARGET = 2600


def _cpid(n: int) -> str:
    body = str(10**10 + (n * 7_919_101) % (9 * 10**10))
    return body + mod_37_36.calc_check_digit(body)


def fill(task: dict) -> None:
    """Add ``n`` entries after the head, with times spread over ``months`` months from January 2026."""
    harness.setup_django(migrate=False)
    from datetime import UTC, datetime, timedelta

    from django.db import connection

    from contactpoint.audit.chain import entry_body, entry_hash

    rng = random.Random(task["seed"])
    with connection.cursor() as cursor:
        cursor.execute("SELECT seq, hash FROM audit_head WHERE id = 1")
        seq, prev = cursor.fetchone()
    start = datetime(2026, 1, 1, tzinfo=UTC)
    span = timedelta(days=30.4 * task["months"])
    first, total = seq, task["total"]  # the times run across the whole final trail, in seq order
    criteria = [base64.b64encode(os.urandom(rng.choice((180, 230, 300)))).decode() for _ in range(64)]
    started = time.perf_counter()
    columns = ("seq", "at", "action", "outcome", "severity", "actor", "actor_org", "actor_role", "reason",
               "target_user", "subjects", "context", "detail", "detail_key", "request_id", "prev_hash", "hash")
    with connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg's own: COPY
        with raw.copy(f"COPY audit_entry ({', '.join(columns)}) FROM STDIN") as copy:
            for _ in range(task["n"]):
                seq += 1
                at = start + span * (seq / total)
                user = rng.randrange(USERS)
                kind = rng.random()
                if kind < 0.55:
                    action, subjects = "child.search", [_cpid(rng.randrange(CHILD_POOL))
                                                            for _ in range(rng.choice((1, 1, 2, 3, 5, 10)))]
                    context = {"rule": "family_dob", "fuzzy": rng.random() < 0.3, "results": len(subjects)}
                    detail = rng.choice(criteria)
                elif kind < 0.9:
                    action, subjects = "child.record.viewed", [_cpid(rng.randrange(CHILD_POOL))]
                    context, detail = {"shielded": False}, ""
                else:
                    action, subjects, context, detail = "auth.login.succeeded", [], {"ip": "10.1.2.3"}, ""
                fields = {"at": at, "action": action, "outcome": "success", "severity": "info",
                          "actor": f"user.{user:05d}", "actor_org": f"LA-{201 + user % 150}", "actor_role": "sch3-1a",
                          "reason": "child_protection" if subjects else "", "target_user": "", "subjects": subjects,
                          "context": context, "detail": detail, "detail_key": f"{at:%Y-%m}" if detail else ""}
                body = entry_body(seq=seq, prev_hash=prev, request_id=f"{seq:032x}", **fields)
                digest = entry_hash(body)
                copy.write_row((seq, at, action, "success", "info", fields["actor"], fields["actor_org"],
                                "sch3-1a", fields["reason"], "", json.dumps(subjects), json.dumps(context), detail,
                                fields["detail_key"], f"{seq:032x}", prev, digest))
                prev = digest
        cursor.execute("UPDATE audit_head SET seq = %s, hash = %s WHERE id = 1", [seq, prev])
    filled = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE audit_entry")
        cursor.execute("SELECT sum(pg_total_relation_size(i.inhrelid)) FROM pg_inherits AS i "
                       "WHERE i.inhparent = 'audit_entry'::regclass")
        size = int(cursor.fetchone()[0])
    harness.emit({"filled_s": filled, "from": first, "to": seq, "bytes": size})


def _auditor():
    from django.utils import timezone

    from contactpoint.access.administration import provision_user
    from contactpoint.access.models import Organisation, User

    found = User.objects.filter(username="bench.auditor").first()
    if found is not None:
        return found
    today = timezone.localdate()
    return provision_user(organisation=Organisation.objects.get(code="CP-NATIONAL"), username="bench.auditor",
                          full_name="Bench Auditor", role_code="national-auditor", cleared_on=today,
                          clearance_reference="001122334455", trained_on=today, now=timezone.now(),
                          keyring=harness.keyring(), actor_name="system:bench", password="a-long-bench-pass-1",
                          pin="864209", totp_key_hex="00" * 20, must_change_credentials=False).user


def reports(task: dict) -> None:
    harness.setup_django(migrate=False)
    from django.db import connection
    from django.utils import timezone

    from contactpoint.monitoring.reports import child_report, user_report

    auditor, ring = _auditor(), harness.keyring()
    rng = random.Random(task["seed"])
    with connection.cursor() as cursor:  # children and users the trail names, from entries spread over it
        cursor.execute("SELECT subjects->>0, actor FROM audit_entry WHERE seq = ANY(%s) AND subjects <> '[]'",
                       [[rng.randrange(1, task["size"]) for _ in range(task["probes"] * 3)]])
        found = cursor.fetchall()[:task["probes"]]
    child_ms, child_rows, user_ms, user_rows = [], [], [], []
    for cpid, actor in found:
        started = time.perf_counter()
        _, rows = child_report(auditor, cpid, keyring=ring, now=timezone.now())
        child_ms.append((time.perf_counter() - started) * 1000)
        child_rows.append(len(rows))
        started = time.perf_counter()
        # As the page asks: the newest 500 (the CSV export streams the rest).
        _, rows = user_report(auditor, actor, keyring=ring, now=timezone.now(), limit=500)
        user_ms.append((time.perf_counter() - started) * 1000)
        user_rows.append(len(rows))
    child_ms.sort()
    user_ms.sort()
    harness.emit({"child_p50": harness.percentile(child_ms, 50), "child_p95": harness.percentile(child_ms, 95),
                  "child_rows": sum(child_rows) / len(child_rows), "user_p50": harness.percentile(user_ms, 50),
                  "user_p95": harness.percentile(user_ms, 95), "user_rows": sum(user_rows) / len(user_rows),
                  "probes": len(found)})


def users(task: dict) -> None:
    """The national auditor who asks for the reports."""
    harness.setup_django(migrate=False)
    _auditor()
    harness.emit({})


def mark_verified(task: dict) -> None:
    """Sign a checkpoint at the head and record it verified, as the monitor's hourly pass leaves things."""
    harness.setup_django(migrate=False)
    from contactpoint.audit.checkpoints import verify_recent, write_checkpoint

    ring = harness.keyring()
    started = time.perf_counter()
    write_checkpoint(ring)
    verdict = verify_recent(ring)
    harness.emit({"s": time.perf_counter() - started, "intact": verdict.intact, "entries": verdict.entries})


def verify_recent_timed(task: dict) -> None:
    harness.setup_django(migrate=False)
    from contactpoint.audit.checkpoints import verify_recent

    started = time.perf_counter()
    verdict = verify_recent(harness.keyring())
    harness.emit({"s": time.perf_counter() - started, "intact": verdict.intact, "entries": verdict.entries,
                  "verdict": str(verdict)})


WORKERS = {"fill": fill, "reports": reports, "users": users, "mark_verified": mark_verified,
           "verify_recent": verify_recent_timed, "migrate": bench_audit.migrate, "writer": bench_audit.writer}


def _make_users(env: dict[str, str]) -> None:
    """60,000 user rows (the reports look a user up before reading what they did), straight into the table."""
    import psycopg

    with psycopg.connect(env["DATABASE_URL"], autocommit=True) as con:
        org = con.execute("SELECT id FROM access_organisation WHERE code = 'LA-202'").fetchone()[0]
        template = con.execute("SELECT * FROM access_user WHERE username = 'bench.auditor'").fetchone()
        names = [d.name for d in con.execute("SELECT * FROM access_user LIMIT 0").description]
        with con.cursor().copy(f"COPY access_user ({', '.join(n for n in names if n != 'id')}) FROM STDIN") as copy:
            for u in range(USERS):
                row = dict(zip(names, template, strict=True))
                row.update({"username": f"user.{u:05d}", "organisation_id": org})
                if "email" in row:
                    row["email"] = ""
                copy.write_row([row[n] for n in names if n != "id"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="2000000,20000000")
    parser.add_argument("--months", type=int, default=10)
    parser.add_argument("--probes", type=int, default=40)
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--append-entries", type=int, default=16000)
    parser.add_argument("--day", type=int, default=1_300_000)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        task = json.loads(args.worker)
        return WORKERS[task["kind"]](task)
    print(f"audit trail growth benchmark: {harness.machine()}", flush=True)
    sizes = harness.sizes_arg(args.sizes)
    with harness.throwaway_database("postgresql", "audit_decade") as db:
        env = harness.worker_env(db)
        harness.run_worker(__file__, {"kind": "migrate"}, env)
        harness.run_worker(__file__, {"kind": "users"}, env)
        _make_users(env)
        have = 0
        rows = []
        for size in sizes:
            f = harness.run_worker(__file__, {"kind": "fill", "n": size - have, "seed": size, "months": args.months,
                                              "total": sizes[-1]}, env)
            have = f["to"]
            print(f"filled to {have:,} entries in {f['filled_s']:.0f} s; the trail is {f['bytes'] / 2**30:.1f} GiB "
                  "with its indexes", flush=True)
            r = harness.run_worker(__file__, {"kind": "reports", "size": have, "probes": args.probes, "seed": 1},
                                   env)
            w = harness.run_together(__file__, [{"kind": "writer", "writer": n,
                                                 "count": args.append_entries // args.writers}
                                                for n in range(args.writers)], env)
            m = harness.run_worker(__file__, {"kind": "mark_verified"}, env)
            d = harness.run_worker(__file__, {"kind": "fill", "n": args.day, "seed": size + 1, "months": args.months,
                                              "total": sizes[-1] + args.day * len(sizes)}, env)
            v = harness.run_worker(__file__, {"kind": "verify_recent"}, env)
            have = d["to"]
            rows.append((size, r, w, v))
            print(f"{size:>11,}: child report p50 {r['child_p50']:.0f} ms, p95 {r['child_p95']:.0f} ms "
                  f"({r['child_rows']:.1f} rows); user report (newest 500) p50 {r['user_p50']:.0f} ms, "
                  f"p95 {r['user_p95']:.0f} ms ({r['user_rows']:.0f} rows); {args.writers} writers "
                  f"{w['rate']:,.0f} appends/s; checkpoint + verify before the day {m['s']:.1f} s "
                  f"({m['entries']:,} entries); a day of {args.day:,} entries verified in {v['s']:.1f} s "
                  f"({v['entries']:,} entries, intact={v['intact']})", flush=True)
        if len(rows) > 1:
            (s0, r0, w0, _), (s1, r1, w1, _) = rows[0], rows[-1]
            print(f"growth {s0:,} -> {s1:,} (x{s1 / s0:.0f}): child report p95 "
                  f"x{r1['child_p95'] / r0['child_p95']:.2f}, "
                  f"user report p95 x{r1['user_p95'] / r0['user_p95']:.2f}, appends/s "
                  f"x{w1['rate'] / w0['rate']:.2f}", flush=True)
        last = rows[-1]
        print(f"targets: child report <= 1 s: {'met' if last[1]['child_p95'] <= 1000 else 'NOT met'} "
              f"(p95 {last[1]['child_p95']:.0f} ms); appends >= {APPEND_TARGET:,}/s with {args.writers} writers: "
              f"{'met' if last[2]['rate'] >= APPEND_TARGET else 'NOT met'} ({last[2]['rate']:,.0f}/s); "
              f"incremental verify of a day: {last[3]['s']:.0f} s", flush=True)
    print(f"finished with {harness.machine()}")


if __name__ == "__main__":
    sys.exit(main())
