"""Benchmark of the vault: N generated children written through ``children.store.create_children`` (per-child
AES-256-GCM data key wrapped by the key ring, nine sealed field groups, blind-index tokens) against the same
rows in a plain unencrypted table with ordinary indexes on the searched values, in the same run and the same
database, batch by batch; on SQLite and PostgreSQL; then ``keys rotate`` (re-wrapping every data key).

    .venv/bin/python bench/bench_vault.py [--sizes 100000,1000000] [--engines sqlite,postgresql]
                                          [--batch 2000] [--rotate-sizes 100000]

Target (issue 2): the vault costs at most 3x the plain insert. Each size runs in a fresh database.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import harness

TARGET_RATIO = 3.0


def work(task: dict) -> None:
    harness.setup_django()
    from django.db import connection

    from contactpoint.children.store import NewChild, create_children
    from contactpoint.lifecycle.rotation import rotate_keys

    ring = harness.keyring()
    harness.create_plain_table()
    n, batch_size = task["n"], task["batch"]
    vault_s = plain_s = 0.0
    last_tenth_vault = last_tenth_plain = 0.0
    done = 0
    batch = []

    def flush() -> None:
        nonlocal vault_s, plain_s, last_tenth_vault, last_tenth_plain, done
        started = time.perf_counter()
        created = create_children(ring, [NewChild(r, "202") for r in batch], now=harness.NOW)
        v = time.perf_counter() - started
        # The same IDs: random ones could collide (the vault retries a collision; a plain insert would fail).
        cpids = [c.cpid for c in created]
        started = time.perf_counter()
        harness.insert_plain(harness.plain_rows(batch, cpids))
        p = time.perf_counter() - started
        vault_s += v
        plain_s += p
        if done + len(batch) > n * 0.9:
            last_tenth_vault += v
            last_tenth_plain += p
        done += len(batch)
        batch.clear()

    prepare_started = time.perf_counter()
    for record in harness.people(n):
        batch.append(record)
        if len(batch) == batch_size:
            flush()
    flush()
    total = time.perf_counter() - prepare_started
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM vault_index")
        tokens = cursor.fetchone()[0]
    result = {"n": n, "vault_s": vault_s, "plain_s": plain_s, "wall_s": total, "tokens": tokens,
              "last_tenth_vault_s": last_tenth_vault, "last_tenth_plain_s": last_tenth_plain}
    if task["rotate"]:
        started = time.perf_counter()
        rotated = rotate_keys(ring)
        result["rotate_s"] = time.perf_counter() - started
        result["rotated"] = rotated.data_keys
    harness.emit(result)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100000,1000000", help="comma-separated numbers of children")
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--batch", type=int, default=2000, help="children per transaction")
    parser.add_argument("--rotate-sizes", default="100000",
                        help="sizes after which key rotation is timed (it is linear in the keys; 'none' to skip)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return work(json.loads(args.worker))
    sizes = harness.sizes_arg(args.sizes)
    engines = args.engines.split(",")
    rotate_sizes = set() if args.rotate_sizes == "none" else set(harness.sizes_arg(args.rotate_sizes))
    print(f"vault benchmark: {harness.machine()}")
    print("generating people (cached):", ", ".join(f"{n:,}" for n in sizes), flush=True)
    for n in sizes:
        harness.generated(harness.children_for(n))
    print(f"{'engine':>10} {'children':>10} {'vault rec/s':>11} {'plain rec/s':>11} {'ratio':>6} "
          f"{'us/rec vault':>12} {'us/rec plain':>12} {'last 10% ratio':>14} {'rotate s':>9} {'keys/s':>8} "
          f"{'peak MiB':>8}", flush=True)
    per_record: dict[tuple[str, int], float] = {}
    for engine in engines:
        for n in sizes:
            with harness.throwaway_database(engine, "vault") as db:
                r = harness.run_worker(__file__, {"n": n, "batch": args.batch, "rotate": n in rotate_sizes},
                                       harness.worker_env(db))
            ratio = r["vault_s"] / r["plain_s"]
            last = r["last_tenth_vault_s"] / r["last_tenth_plain_s"] if r["last_tenth_plain_s"] else float("nan")
            per_record[engine, n] = r["vault_s"] / n
            rotate = f"{r['rotate_s']:>9.1f} {r['rotated'] / r['rotate_s']:>8,.0f}" if "rotate_s" in r else \
                f"{'-':>9} {'-':>8}"
            print(f"{engine:>10} {n:>10,} {n / r['vault_s']:>11,.0f} {n / r['plain_s']:>11,.0f} {ratio:>6.2f} "
                  f"{1e6 * r['vault_s'] / n:>12.0f} {1e6 * r['plain_s'] / n:>12.0f} {last:>14.2f} {rotate} "
                  f"{r['maxrss_mib']:>8,.0f}  [{'met' if ratio <= TARGET_RATIO else 'NOT met'}: <= {TARGET_RATIO}x]",
                  flush=True)
    if len(sizes) > 1:
        small, large = sizes[0], sizes[-1]
        for engine in engines:
            growth = per_record[engine, large] / per_record[engine, small]
            print(f"{engine}: vault cost per record grows x{growth:.2f} from {small:,} to {large:,} children")
    print("ratio = vault time / plain time for the same rows (preparing the people is in neither);"
          " 'last 10%' compares the final tenth of the load, when the tables are largest")
    print(f"finished with {harness.machine()}")


if __name__ == "__main__":
    sys.exit(main())
