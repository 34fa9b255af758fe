"""Benchmark of the children missing education list (issue 19): the first page of a large authority's list,
paged in the database by each record's clear missing-education window (``lifecycle.education``), against the way
it was first built: open every school-age child of the authority, then page in Python.

    .venv/bin/python bench/bench_missing_education.py [--sizes 20000,100000] [--engines sqlite,postgresql]
                                                     [--placed 0.9] [--repeats 3]

Each size is that many generated children (``harness.people``), all in one authority (LA 202), written through
``children.store.create_children`` as the feeds write them; ``--placed`` of them are given an educational
setting (most children are at school), the rest are on the list if of compulsory school age. "before" times the
first way (a copy of it below: every child of the authority whose review month is within 14 years is opened, its
names, birth and setting decrypted); "after" times ``education.missing_page`` (page 1: the count, 50 rows read
by the partial index, 50 children opened, one audit entry). Both in the same run and database; best of
``--repeats``.

Target: a page's cost depends on the page, not the authority (Birmingham has about 250,000 children).
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import harness


def _before(la: str, keyring, today) -> list:
    """The list as it was first built (lifecycle.education before the window was kept): page 1 of it."""
    from contactpoint.children.models import Child, ChildStatus
    from contactpoint.children.store import load_groups
    from contactpoint.dates import anniversary, compulsory_school_age_starts, first_of_month, of_compulsory_school_age

    latest_review = first_of_month(anniversary(today, 18 - 4))
    children = Child.objects.filter(responsible_la=la, status=ChildStatus.LIVE, review_month__lte=latest_review)
    out = []
    for child in children.only("id", "cpid", "names", "birth", "education").order_by("cpid").iterator():
        groups = load_groups(keyring, child, ["names", "birth", "education"])
        born = groups["date_of_birth"].value
        if groups.get("education") is not None or groups.get("date_of_death") is not None \
                or not of_compulsory_school_age(born, today):
            continue
        out.append((compulsory_school_age_starts(born), child.cpid, groups["name"].value.display, born))
    return sorted(out)[:50]


def work(task: dict) -> None:
    harness.setup_django()
    from datetime import timedelta

    from django.db import connection
    from django.utils import timezone

    from contactpoint.access.administration import provision_user
    from contactpoint.access.models import Organisation
    from contactpoint.children.record import EducationSetting, Provenance, Sourced
    from contactpoint.children.store import NewChild, create_children
    from contactpoint.lifecycle import education

    ring = harness.keyring()
    n, placed = task["n"], task["placed"]
    setting = Sourced(EducationSetting("100001", "Bench Primary"), Provenance("bench", "bench", harness.TODAY))
    batch: list = []
    started = time.perf_counter()
    for i, record in enumerate(harness.people(n)):
        if (i % 100) < placed * 100:
            record = record.with_changes(education=setting)
        batch.append(NewChild(record, "202"))
        if len(batch) == 2000:
            create_children(ring, batch, now=harness.NOW)
            batch.clear()
    if batch:
        create_children(ring, batch, now=harness.NOW)
    loaded = time.perf_counter() - started
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    today = harness.TODAY
    user = provision_user(organisation=Organisation.objects.get(code="LA-202"), username="bench.data",
                          full_name="Bench Data", role_code="data-manager", cleared_on=today - timedelta(days=365),
                          clearance_reference="001122334455", trained_on=today - timedelta(days=300),
                          now=timezone.now(), keyring=ring, actor_name="system:bench",
                          must_change_credentials=False).user
    before = after = float("inf")
    for _ in range(task["repeats"]):
        t = time.perf_counter()
        old = _before("202", ring, today)
        before = min(before, time.perf_counter() - t)
        t = time.perf_counter()
        shown, total = education.missing_page(user, keyring=ring, now=harness.NOW)
        after = min(after, time.perf_counter() - t)
    assert [c for _, c, _, _ in old] == [m.cpid for m in shown], "the two ways list different children"
    harness.emit({"n": n, "load_s": loaded, "before_s": before, "after_s": after, "listed": total})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="20000,100000", help="comma-separated numbers of children")
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--placed", type=float, default=0.9, help="share of children given a setting")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return work(json.loads(args.worker))
    sizes = harness.sizes_arg(args.sizes)
    print(f"missing-education benchmark: {harness.machine()}")
    for n in sizes:
        harness.generated(harness.children_for(n))
    print(f"{'engine':>10} {'children':>10} {'listed':>8} {'before s':>9} {'after s':>8} {'speed-up':>9} "
          f"{'load s':>7} {'peak MiB':>8}", flush=True)
    for engine in args.engines.split(","):
        for n in sizes:
            with harness.throwaway_database(engine, "missedu") as db:
                r = harness.run_worker(__file__, {"n": n, "placed": args.placed, "repeats": args.repeats},
                                       harness.worker_env(db))
            print(f"{engine:>10} {n:>10,} {r['listed']:>8,} {r['before_s']:>9.3f} {r['after_s']:>8.3f} "
                  f"{r['before_s'] / r['after_s']:>8.0f}x {r['load_s']:>7.0f} {r['maxrss_mib']:>8,.0f}", flush=True)
    print("before = open every school-age child of the authority, then page; after = page 1 of "
          "education.missing_page (count, 50 rows by the partial index, 50 opened, audited)")
    print(f"finished with {harness.machine()}")


if __name__ == "__main__":
    sys.exit(main())
