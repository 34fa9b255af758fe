"""Benchmark of the synthetic feed generator (``contactpoint generate``).

Generates 100,000 and 1,000,000 children (by default) into a temporary directory and prints, for each
size, the wall time, the rows written per second (all feeds and truth.csv) and children per second; then how
the cost grows from the smallest size to the largest, and the speed-up of the worker processes over one
process, both measured in the same run (DESIGN.md section 6).

    .venv/bin/python bench/bench_generator.py [--sizes 100000,1000000] [--las 202,203] [--workers N]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from datetime import date
from pathlib import Path

from contactpoint.synthetic.generator import TRUTH_FILE, available_cpus, generate

SEED = 2008
TODAY = date(2026, 11, 24)


def run_once(children: int, las: list[str], workers: int) -> tuple[float, int, int]:
    """(wall seconds, feed rows, truth rows) for one generation into a fresh temporary directory."""
    out = Path(tempfile.mkdtemp(prefix="bench-generator-"))
    try:
        started = time.perf_counter()
        summary = generate(children, SEED, out, las, TODAY, workers=workers)
        elapsed = time.perf_counter() - started
    finally:
        shutil.rmtree(out, ignore_errors=True)
    truth_rows = sum(f.rows for f in summary.files if f.path.name == TRUTH_FILE)
    return elapsed, sum(f.rows for f in summary.files) - truth_rows, truth_rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100000,1000000", help="comma-separated numbers of children")
    parser.add_argument("--las", default="202,203", help="comma-separated LA codes")
    parser.add_argument("--workers", type=int, default=available_cpus())
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    las = args.las.split(",")

    print(f"generator benchmark: LAs {','.join(las)}, {args.workers} worker(s), seed {SEED}, today {TODAY}")
    print(f"{'children':>10} {'workers':>7} {'wall s':>8} {'feed rows':>10} {'rows/s':>9} {'children/s':>10}")
    timings: dict[tuple[int, int], float] = {}
    runs = [(size, args.workers) for size in sizes]
    if args.workers > 1:
        runs.insert(1, (sizes[0], 1))  # one process, for the speed-up of the workers
    for children, workers in runs:
        elapsed, feed_rows, truth_rows = run_once(children, las, workers)
        timings[children, workers] = elapsed
        rows = feed_rows + truth_rows
        print(f"{children:>10,} {workers:>7} {elapsed:>8.1f} {feed_rows:>10,} {rows / elapsed:>9,.0f} "
              f"{children / elapsed:>10,.0f}", flush=True)
    small, large = sizes[0], sizes[-1]
    if large != small:
        ratio = timings[large, args.workers] / timings[small, args.workers]
        print(f"cost growth {small:,} -> {large:,} children: "
              f"x{ratio:.2f} time for x{large / small:.0f} children")
    if args.workers > 1:
        speedup = timings[small, 1] / timings[small, args.workers]
        print(f"speed-up of {args.workers} workers over 1 at {small:,} children: x{speedup:.2f}")
    print("rows/s counts every row written: the feeds and truth.csv")


if __name__ == "__main__":
    main()
