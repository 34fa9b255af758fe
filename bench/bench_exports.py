"""The same children sent as other systems export them: does the index still find every one?

    .venv/bin/python bench/bench_exports.py [--children 38000] [--engine postgresql]

The generator writes every feed exactly as docs/feeds.md asks. Real sources send what their systems export. This
benchmark writes the generated feeds again, row for row and value for value, the way two other kinds of system
would export them, and sends both versions through the real pipeline (``ingest``, in the demo's order) into fresh
databases:

- every school census as a **spreadsheet export from a school's management system**: headers as people write
  them (``Source Record ID``, ``Forename``, ``Surname``, ``DOB``, ``Sex``, ``Address 1``, ``Post Code``...), the
  forenames in one field (``Amelia Rose``, no middle-name column), dates day first (``03/07/2014``), the
  street's kind abbreviated (``12 Agar Gr``, ``8 Martin Gdns``), parents with their titles (``Mrs Sharon
  Haynes``), and the file saved as Excel on Windows saves "CSV (Comma delimited)": in Windows-1252, with a
  letter that code page lacks written ``?``;
- the GP registrations as a **health system's extract**: dates as HL7 and the PDS write them (``20140703``),
  gender as the NHS Data Dictionary's codes (``1``, ``2``, ``9``), and what is not known written as systems that
  must fill a field write it: an NHS number not known as ``0000000000``, a postcode not known as the NHS's
  pseudo-postcode ``ZZ99 3WZ``, a date of birth not known as ``19000101``.

The school census's date of birth not known is ``01/01/1900`` likewise. Each local authority's social care file is
a **database export** as SQL Server's "Save Results As" writes one: ``NULL`` in every empty cell. Child benefit is
sent as it is. Nothing a person would call a mistake is added: the exported feeds say what the generated ones say.

For each version it prints pairwise precision, recall and F1 against truth.csv (every record sent counts: a
refused or held row is a missed link), the rows refused and held, the values not taken by field and reason, the
open discrepancy items for sources, and the review queue. The two should agree, but for the placeholders, which
cost their values (an item each for the source).
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import shutil
import sys
import time
from collections import Counter
from pathlib import Path

import harness
from bench_pipeline import SOURCE_KINDS, load_order

from contactpoint.matching.evaluate import read_truth

# School census columns as a school's spreadsheet export heads them (the rest keep their names).
SCHOOL_HEADERS = {"source_record_id": "Source Record ID", "given_name": "Forename", "family_name": "Surname",
                  "former_family_names": "Former Surnames", "gender": "Sex", "date_of_birth": "DOB",
                  "upn": "UPN", "uln": "ULN", "nhs_number": "NHS No", "address_line_1": "Address 1",
                  "address_line_2": "Address 2", "town": "Town", "postcode": "Post Code",
                  "setting_start_date": "Setting Start Date", "updated_at": "Updated At"}
DATE_COLUMNS = ("date_of_birth", "date_of_death", "setting_start_date", "gp_start_date", "involvement_start_date",
                "involvement_end_date", "updated_at")
ABBREVIATED = {"Road": "Rd", "Street": "St", "Avenue": "Ave", "Close": "Cl", "Gardens": "Gdns", "Lane": "Ln",
               "Crescent": "Cres", "Grove": "Gr", "Drive": "Dr", "Place": "Pl", "Terrace": "Ter", "Court": "Ct",
               "Square": "Sq", "Way": "Way"}
_STREET_KIND = re.compile(r"\b(" + "|".join(ABBREVIATED) + r")\b")
TITLES = {"mother": "Mrs", "father": "Mr", "stepmother": "Mrs", "stepfather": "Mr"}
NHS_GENDER = {"male": "1", "female": "2", "not specified": "9"}


def _day_first(value: str) -> str:
    """Written again, not parsed: an impossible date ("2019-02-30") stays impossible."""
    return f"{value[8:10]}/{value[5:7]}/{value[:4]}" if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value) else value


def _compact(value: str) -> str:
    return value.replace("-", "") if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value) else value


def school_export(row: dict[str, str]) -> dict[str, str]:
    out = dict(row, date_of_birth=row["date_of_birth"] or "1900-01-01")
    out["given_name"] = " ".join(p for p in (row["given_name"], row["middle_names"]) if p)
    del out["middle_names"]
    for column in DATE_COLUMNS:
        out[column] = _day_first(row[column])
    out["address_line_1"] = _STREET_KIND.sub(lambda m: ABBREVIATED[m[1]], row["address_line_1"])
    for n in (1, 2):
        title = TITLES.get(row[f"carer_{n}_relationship"].lower())
        if title and row[f"carer_{n}_name"]:
            out[f"carer_{n}_name"] = f"{title} {row[f'carer_{n}_name']}"
    return {SCHOOL_HEADERS.get(c, c.replace("_", " ").title()): v for c, v in out.items()}


def health_export(row: dict[str, str]) -> dict[str, str]:
    out = dict(row, nhs_number=row["nhs_number"] or "0000000000", date_of_birth=row["date_of_birth"] or "1900-01-01",
               postcode=row["postcode"] or ("ZZ99 3WZ" if row["address_line_1"] else ""))
    for column in DATE_COLUMNS:
        out[column] = _compact(row[column])
    out["gender"] = NHS_GENDER.get(row["gender"], row["gender"])
    return out


def database_export(row: dict[str, str]) -> dict[str, str]:
    return {column: value or "NULL" for column, value in row.items()}


def exported_path(folder: Path) -> Path:
    return folder.parent / f"{folder.name}-exported-3"  # -3: school files in Windows-1252, NULL in social care


def exported(folder: Path, las: list[str]) -> Path:
    """``folder``'s feeds written again as other systems export them, beside it (cached)."""
    out = exported_path(folder)
    if (out / ".complete").exists():
        return out
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    for code, path in load_order(folder, las):
        rewrite = school_export if code.startswith("school-census") else \
            health_export if code.startswith("gp-") else database_export if code.startswith("la-social-care") else None
        if rewrite is None:
            shutil.copy(path, out / path.name)
            continue
        encoding = "cp1252" if rewrite is school_export else "utf-8"
        with path.open(newline="", encoding="utf-8") as fh, \
                (out / path.name).open("w", newline="", encoding=encoding, errors="replace") as dest:
            writer = None
            for row in csv.DictReader(fh):
                new = rewrite(row)
                if writer is None:
                    writer = csv.DictWriter(dest, fieldnames=list(new))
                    writer.writeheader()
                writer.writerow(new)
    shutil.copy(folder / "truth.csv", out / "truth.csv")
    (out / ".complete").write_text("")
    return out


# --- the pipeline -----------------------------------------------------------------------------------------------

def pipeline(task: dict) -> None:
    harness.setup_django()

    from contactpoint.access.models import Organisation
    from contactpoint.access.sources import register_source
    from contactpoint.audit.trail import Actor
    from contactpoint.bestview.models import Discrepancy
    from contactpoint.children.models import HeldRecord
    from contactpoint.errors import FeedRejected
    from contactpoint.feeds.models import RowProblem
    from contactpoint.ingest.run import ingest
    from contactpoint.matching.engine import backend
    from contactpoint.matching.evaluate import pairwise
    from contactpoint.matching.models import ReviewItem

    ring = harness.keyring()
    folder, las = Path(task["folder"]), task["las"]
    actor = Actor("system:bench", role="operator")
    engine = backend(None)
    runs, rejected = [], []
    started = time.perf_counter()
    for code, path in load_order(folder, las):
        prefix = code.rsplit("-", 1)[0] if code[-3:].isdigit() else code
        kind, owner = SOURCE_KINDS[prefix]
        org = Organisation.objects.get(code=owner.format(la=code[-3:]))
        source = register_source(None, code=code, name=code, kind=kind, organisation=org, now=harness.NOW,
                                 keyring=ring, actor=actor)
        try:
            runs.append(ingest(source, path.read_bytes(), fmt="csv", mode="delta", keyring=ring, now=harness.NOW,
                               engine=engine).run)
        except FeedRejected as refused:  # the whole file: its rows count as refused
            rejected.append(f"{code}: {refused}")
    elapsed = time.perf_counter() - started
    truth = read_truth(folder / "truth.csv")
    by_key, clusters = harness.placed_records(ring, truth)
    quality = pairwise(clusters, truth)
    problems = Counter((p.field, p.reason) for p in RowProblem.objects.filter(run__in=runs))
    items = Counter(f"{kind} {field}" for kind, field in
                    Discrepancy.objects.filter(closed_at__isnull=True).values_list("kind", "field"))
    pending = ReviewItem.objects.filter(status=ReviewItem.Status.OPEN)
    harness.emit({"s": elapsed, "records": len(clusters), "precision": quality.precision, "recall": quality.recall,
                  "f1": quality.f1, "refused": sum(r.rows_refused for r in runs), "rejected": rejected,
                  "held": HeldRecord.objects.count(), "problems": [[*k, n] for k, n in problems.most_common()],
                  "items": dict(items), "reviews": pending.count(),
                  "clusters": [[s, r, c] for (s, r), c in clusters],
                  "held_records": sorted(list(by_key[h.record_key]) for h in HeldRecord.objects.all()
                                         if h.record_key in by_key),
                  "review_pairs": [[str(a), str(b), why] for a, b, why in
                                   pending.values_list("child_a_id", "child_b_id", "why")]})


def generate(task: dict) -> None:
    folder = harness.generated(task["children"], las=task["las"])
    exported(folder, task["las"])
    harness.emit({"folder": str(folder)})


WORKERS = {"pipeline": pipeline, "generate": generate}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--children", type=int, default=38000, help="children generated (38,000 make about "
                                                                    "100,000 records)")
    parser.add_argument("--engine", default="postgresql")
    parser.add_argument("--dump", type=Path, help="write each version's result (which child each record went to, "
                                                    "the review items, the held records) as JSON in this folder")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        task = json.loads(args.worker)
        return WORKERS[task["kind"]](task)
    print(f"exports benchmark ({args.engine}): {harness.machine()}", flush=True)
    las = harness.las_at_national_density(args.children)
    g = harness.run_worker(__file__, {"kind": "generate", "children": args.children, "las": las},
                           harness.worker_env(harness.Database("sqlite", "sqlite://", Path("/tmp"))))
    folder = Path(g["folder"])
    for label, feeds in (("as docs/feeds.md asks", folder), ("as other systems export them", exported_path(folder))):
        with harness.throwaway_database(args.engine, "exports") as db:
            p = harness.run_worker(__file__, {"kind": "pipeline", "folder": str(feeds), "las": las},
                                   harness.worker_env(db))
        if args.dump:
            args.dump.mkdir(parents=True, exist_ok=True)
            (args.dump / f"{feeds.name}.json").write_text(json.dumps(p))
        print(f"{args.children:,} children, {p['records']:,} records taken, feeds written {label}: "
              f"{p['s']:.0f} s; P {p['precision']:.4f} R {p['recall']:.4f} F1 {p['f1']:.4f}; "
              f"{p['refused']:,} rows refused, {p['held']:,} held; {p['reviews']:,} review items; open items for "
              f"sources: {', '.join(f'{k} {n:,}' for k, n in sorted(p['items'].items())) or 'none'}", flush=True)
        harness.print_missed(harness.missed_pairs(harness.feed_rows(load_order(folder, las)),
                                                  read_truth(folder / "truth.csv"), p), p["reviews"])
        for file in p["rejected"]:
            print(f"  a whole file refused: {file}", flush=True)
        print("  values not taken (field, reason: rows):", flush=True)
        for field, reason, n in p["problems"][:12]:
            print(f"    {n:>7,}  {field:22} {reason}", flush=True)
    print(f"finished with {harness.machine()}")


if __name__ == "__main__":
    sys.exit(main())
