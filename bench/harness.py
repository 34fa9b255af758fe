"""What the benchmarks share: throwaway databases, a worker process per measurement, generated people.

Django reads its settings once per process, so every measurement runs in a worker process of its own (the
benchmark script again, with ``--worker``), pointed at a database created for it and dropped after it:

- SQLite: a file in a temporary directory (with the key ring and secret key), removed at the end;
- PostgreSQL: a database ``bench_<name>_<pid>`` on ``BENCH_POSTGRES`` (default
  ``postgres://postgres:postgres@127.0.0.1:5432/postgres``), created and dropped by the parent.

The worker prints one JSON line of figures (tagged ``BENCH-RESULT``) which the parent reads; its own peak
memory (``own_peak_mib``) is added to every result. Workers run under ``nice`` on a shared machine.

People come from ``contactpoint generate`` (the synthetic feeds): the GP registrations feed has one row per
child, which is parsed, validated and turned into a best-view ``ChildRecord`` exactly as the pipeline would.
Generated feeds are cached under ``BENCH_CACHE`` (default ``/tmp/contactpoint-bench-cache``) because the
generator is deterministic: the same size and seed always give the same files.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from math import ceil
from pathlib import Path
from typing import Any, Self

ROOT = Path(__file__).resolve().parent.parent
POSTGRES = os.environ.get("BENCH_POSTGRES", "postgres://postgres:postgres@127.0.0.1:5432/postgres")
CACHE = Path(os.environ.get("BENCH_CACHE", "/tmp/contactpoint-bench-cache"))
RESULT_TAG = "BENCH-RESULT "
SEED = 2008
TODAY = date(2026, 11, 24)
NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
LAS = ["202", "203"]
# England: about 11 million children in its local authorities. A benchmark of more children than two LAs hold
# spreads them over as many LAs as England would (``las_at_national_density``), so that a postcode holds as many
# children as one does in England, not ten times as many.
NATIONAL_CHILDREN = 11_000_000
# An LA whose generated postcodes number fewer than this (the City of London's 469) is not where tens of
# thousands of children could live.
MIN_LA_POSTCODES = 2000


# --- the parent side ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Database:
    engine: str  # "sqlite" or "postgresql"
    url: str
    var_dir: Path


@contextmanager
def throwaway_database(engine: str, name: str) -> Iterator[Database]:
    """A fresh, empty database and var directory (key ring, secret key), removed afterwards."""
    var_dir = Path(tempfile.mkdtemp(prefix=f"bench-{name}-"))
    os.chmod(var_dir, 0o700)
    if engine == "sqlite":
        try:
            yield Database(engine, f"sqlite:///{var_dir / 'bench.sqlite3'}", var_dir)
        finally:
            shutil.rmtree(var_dir, ignore_errors=True)
        return
    import psycopg

    db = f"bench_{name}_{os.getpid()}"
    with psycopg.connect(POSTGRES, autocommit=True) as con:
        con.execute(f'DROP DATABASE IF EXISTS "{db}"')
        con.execute(f'CREATE DATABASE "{db}"')
    base = POSTGRES.rsplit("/", 1)[0]
    try:
        yield Database(engine, f"{base}/{db}", var_dir)
    finally:
        with psycopg.connect(POSTGRES, autocommit=True) as con:
            con.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        shutil.rmtree(var_dir, ignore_errors=True)


def worker_env(db: Database, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "DATABASE_URL": db.url,
        "CONTACTPOINT_VAR_DIR": str(db.var_dir),
        "CONTACTPOINT_KEYRING": str(db.var_dir / "keyring.json"),
        "CONTACTPOINT_ENV": "development",
        "DJANGO_SETTINGS_MODULE": "contactpoint.settings",
        "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT / 'bench'}",
    })
    env.update(extra)
    return env


def run_worker(script: str, task: dict[str, Any], env: dict[str, str], *, nice: int = 10,
               timeout: float | None = None) -> dict[str, Any]:
    """Run ``script --worker TASK`` in a child process; its result line as a dict (with ``maxrss_mib``)."""
    command = ["nice", "-n", str(nice), sys.executable, str(Path(script).resolve()), "--worker", json.dumps(task)]
    proc = subprocess.run(command, check=False, env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)
    result = None
    for line in proc.stdout.splitlines():
        if line.startswith(RESULT_TAG):
            result = json.loads(line[len(RESULT_TAG):])
    if proc.returncode != 0 or result is None:
        sys.stderr.write(proc.stderr[-4000:])
        raise SystemExit(f"worker {task} failed (exit {proc.returncode})")
    return result


def run_together(script: str, tasks: list[dict[str, Any]], env: dict[str, str], *, nice: int = 10) -> dict:
    """Start one worker per task, wait until every one has printed ``ready``, then let them all go at once.

    Each worker prints ``ready``, reads a line from stdin, works, and emits a result with ``start``, ``end``
    and ``count``. Returns the wall time from the first start to the last end, the total count and the rate,
    and the results themselves."""
    procs = [subprocess.Popen(["nice", "-n", str(nice), sys.executable, str(Path(script).resolve()), "--worker",
                               json.dumps(task)], env=env, cwd=ROOT, stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for task in tasks]
    for p in procs:
        line = p.stdout.readline()
        if line.strip() != "ready":
            raise SystemExit(f"worker did not start: {line!r} {p.stderr.read()[-2000:]}")
    for p in procs:
        p.stdin.write("go\n")
        p.stdin.flush()
    results = []
    for p in procs:
        out, err = p.communicate()
        lines = [ln for ln in out.splitlines() if ln.startswith(RESULT_TAG)]
        if p.returncode or not lines:
            raise SystemExit(f"worker failed: {err[-2000:]}")
        results.append(json.loads(lines[-1][len(RESULT_TAG):]))
    wall = max(r["end"] for r in results) - min(r["start"] for r in results)
    total = sum(r["count"] for r in results)
    return {"wall_s": wall, "total": total, "rate": total / wall, "results": results}


# --- the worker side ------------------------------------------------------------------------------------------

def setup_django(migrate: bool = True) -> None:
    import django

    django.setup()
    if migrate:
        from django.core.management import call_command

        call_command("migrate", interactive=False, verbosity=0)


def keyring():
    from contactpoint.vault.keyring import get_keyring

    return get_keyring()


def own_peak_mib() -> float:
    """This process's peak resident memory since it started its program (``VmHWM``). Not ``ru_maxrss``: Linux
    carries that across fork and exec from the parent, so a worker started by a benchmark that had just read 3
    million records' truth into memory reported the benchmark's 8.9 GiB as its own. ``ru_maxrss`` where there
    is no /proc."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def emit(result: dict[str, Any]) -> None:
    """Print the worker's result with its peak memory and the CPU time it used (user + system, all threads):
    on a shared machine CPU time is the figure least disturbed by other people's load. The processes it started
    and waited for (a feed's helpers) are counted in ``cpu_s`` too; their memory is ``TreeMemory``'s to measure
    (a child process's ``ru_maxrss`` includes what it inherited)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(RESULT_TAG + json.dumps({
        **result, "maxrss_mib": round(own_peak_mib(), 1),
        "cpu_s": round(usage.ru_utime + usage.ru_stime + children.ru_utime + children.ru_stime, 2)}), flush=True)


class TreeMemory:
    """The peak resident memory of this process and every process under it at the same moment, sampled four
    times a second by a thread (``ru_maxrss`` cannot say it: it gives each process's own peak, and a child's
    includes what its parent had when it forked). Linux only; ``peak_mib`` stays 0 elsewhere."""

    def __init__(self, interval: float = 0.25) -> None:
        import threading

        self.peak_mib = 0.0
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    @staticmethod
    def _rss_kib(pid: int) -> int:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        except OSError:
            pass
        return 0

    @staticmethod
    def _descendants(pid: int) -> list[int]:
        out, todo = [], [pid]
        while todo:
            parent = todo.pop()
            try:
                tasks = list(Path(f"/proc/{parent}/task").iterdir())
            except OSError:
                continue
            for task in tasks:
                try:
                    children = [int(c) for c in (task / "children").read_text().split()]
                except OSError:
                    continue
                out += children
                todo += children
        return out

    def _watch(self) -> None:
        me = os.getpid()
        while not self._stop.wait(self._interval):
            total = sum(self._rss_kib(pid) for pid in [me, *self._descendants(me)])
            self.peak_mib = max(self.peak_mib, total / 1024)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


# --- generated data -------------------------------------------------------------------------------------------

def generator_version() -> str:
    """A digest of the generator's code (``contactpoint.synthetic``). A cached generation is used only by the code
    that made it: one kind of mess more draws the random numbers differently, and the same seed then makes other
    files (the cache key used to be size and seed alone, so a changed generator read the old files)."""
    digest = hashlib.sha256()
    for path in sorted((ROOT / "src" / "contactpoint" / "synthetic").rglob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:8]


def generated(children: int, seed: int = SEED, las: list[str] = LAS, mess: float = 1.0) -> Path:
    """The feeds and truth.csv of ``children`` generated children (cached: the generator is deterministic), with
    every mistake a source makes ``mess`` times as often as by default (``MessRates.messier``)."""
    from contactpoint.synthetic.generator import generate
    from contactpoint.synthetic.mess import MessRates

    messier = "" if mess == 1 else f"-mess{mess:g}"
    folder = CACHE / f"gen-{children}-{seed}-{'-'.join(las)}-{TODAY.isoformat()}{messier}-{generator_version()}"
    marker = folder / ".complete"
    if not marker.exists():
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        started = time.perf_counter()
        generate(children, seed, folder, las, TODAY, rates=MessRates().messier(mess))
        marker.write_text(f"{time.perf_counter() - started:.1f}")
    return folder


def las_at_national_density(children: int) -> list[str]:
    """The LAs ``children`` generated children live in at England's density: ``LAS`` first, then England's other
    current LAs in the reference list's order, as many as hold that many children at 11 million children over
    all of them. An LA whose postcode districts overlap one already taken is passed over (the generator would put
    both LAs' children in the same postcodes), as is one with too few postcodes."""
    from contactpoint.reference import current_local_authorities
    from contactpoint.synthetic.postcodes import districts, incodes

    current = [la.code for la in current_local_authorities()]
    wanted = max(len(LAS), ceil(children / (NATIONAL_CHILDREN / len(current))))
    chosen: list[str] = []
    taken: set[str] = set()
    for code in [*LAS, *(c for c in current if c not in LAS)]:
        outcodes = {oc for oc, _ in districts(code)}
        if outcodes & taken or sum(len(incodes(oc)) for oc in outcodes) < MIN_LA_POSTCODES:
            continue
        chosen.append(code)
        taken |= outcodes
        if len(chosen) == wanted:
            return chosen
    raise SystemExit(f"only {len(chosen)} LAs with postcodes of their own; {wanted} wanted")


def generation_seconds(folder: Path) -> float:
    return float((folder / ".complete").read_text())


def children_for(people_wanted: int) -> int:
    """How many children to generate for ``people`` to yield ``people_wanted``: the GP feed covers about 97 % of
    children, and a few of its rows lack a date of birth or a name."""
    return max(1000, int(people_wanted / 0.92) + 100)


def people(count: int, seed: int = SEED) -> Iterator[Any]:
    """``count`` ChildRecords of generated children (the GP registrations feed, one row per child, through
    validation and the best view as the pipeline would build a new child from it)."""
    from contactpoint.bestview.build import Held, build
    from contactpoint.feeds import formats
    from contactpoint.feeds.validate import validate
    from contactpoint.synthetic.sources import GP

    folder = generated(children_for(count), seed)
    made = 0
    with (folder / f"{GP}.csv").open("rb") as fh:
        for raw in formats.read("csv", fh):
            row, _ = validate(raw, today=TODAY)
            if row is None or row.date_of_birth is None or not (row.name.given or row.name.family):
                continue  # the pipeline would hold this row, not make a child of it
            yield build([Held(GP, "gp_registrations", "bench", TODAY, row.source_record_id, row)]).record
            made += 1
            if made == count:
                return
    raise SystemExit(f"only {made} people in the generated GP feed, {count} wanted")


def percentile(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return float("nan")
    k = (len(sorted_values) - 1) * p / 100
    lo = int(k)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (k - lo)


def machine() -> str:
    load = os.getloadavg()
    cpus = os.cpu_count()
    try:
        mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError):
        mem = float("nan")
    return f"{cpus} CPUs, {mem:.0f} GiB RAM, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"


def sizes_arg(text: str) -> list[int]:
    return [int(s.replace("_", "")) for s in text.split(",") if s.strip()]


# --- the unencrypted copy -------------------------------------------------------------------------------------

# What the index would be without the vault: the same child rows with every field group in clear, and the
# values searched on in plain indexed columns (what an unencrypted system would index instead of blind tokens).
PLAIN_TABLE = "bench_plain_child"
_PLAIN_CLEAR = ("given", "family", "dob", "postcode", "nhs_number", "upn")


def create_plain_table() -> None:
    from django.db import connection

    from contactpoint.children.record import FIELD_GROUPS

    blob = "bytea" if connection.vendor == "postgresql" else "blob"
    groups = ", ".join(f"{g} {blob} NOT NULL" for g in FIELD_GROUPS)
    with connection.cursor() as cursor:
        cursor.execute(f"""CREATE TABLE {PLAIN_TABLE} (
            id bigint PRIMARY KEY, cpid varchar(12) NOT NULL UNIQUE, status varchar(10) NOT NULL,
            shielded boolean NOT NULL, responsible_la varchar(3) NOT NULL, review_month date NOT NULL,
            archived_month date, version integer NOT NULL, created_at timestamp NOT NULL,
            updated_at timestamp NOT NULL, {groups},
            given varchar(100) NOT NULL, family varchar(100) NOT NULL, dob date NOT NULL, postcode varchar(8),
            nhs_number varchar(10), upn varchar(13))""")
        for name, cols in (("family_dob", "family, dob"), ("given_dob", "given, dob"),
                           ("dob_postcode", "dob, postcode"), ("nhs", "nhs_number"), ("upn", "upn"),
                           ("la", "responsible_la")):
            cursor.execute(f"CREATE INDEX {PLAIN_TABLE}_{name} ON {PLAIN_TABLE} ({cols})")


def plain_rows(records, cpids: list[str], la: str = "202") -> list[tuple]:
    """The rows of the unencrypted copy for ``records`` (field groups serialised exactly as the vault does
    before sealing them, so the only difference left is the encryption and the blind index)."""
    from django.db import connection

    from contactpoint.children.record import FIELD_GROUPS, encode_groups
    from contactpoint.children.store import child_id
    from contactpoint.dates import live_review_month

    ops = connection.ops
    stamp = ops.adapt_datetimefield_value(NOW)
    rows = []
    for record, cpid in zip(records, cpids, strict=True):
        groups = encode_groups(record)
        where = record.whereabouts.value.address if record.whereabouts else None
        rows.append((child_id(cpid), cpid, "live", False, la,
                     ops.adapt_datefield_value(live_review_month(record.date_of_birth.value)), None, 1, stamp, stamp,
                     *(groups[g] for g in FIELD_GROUPS),
                     record.name.value.given.upper(), record.name.value.family.upper(),
                     ops.adapt_datefield_value(record.date_of_birth.value),
                     where.postcode if where else None,
                     record.nhs_number.value if record.nhs_number else None,
                     record.upn.value if record.upn else None))
    return rows


def insert_plain(rows: list[tuple]) -> None:
    from django.db import connection, transaction

    from contactpoint.children.record import FIELD_GROUPS

    columns = ("id", "cpid", "status", "shielded", "responsible_la", "review_month", "archived_month", "version",
               "created_at", "updated_at", *FIELD_GROUPS, *_PLAIN_CLEAR)
    sql = f"INSERT INTO {PLAIN_TABLE} ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))})"
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(sql, rows)


# --- why true pairs were missed ---------------------------------------------------------------------------------

COMPARED = (("given_name", "given name"), ("family_name", "family name"), ("date_of_birth", "date of birth"),
            ("postcode", "postcode"), ("address_line_1", "address line 1"), ("nhs_number", "NHS number"))


def _norm(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalpha())


def feed_rows(files: list[tuple[str, Path]]) -> dict[tuple[str, str], dict[str, str]]:
    rows: dict[tuple[str, str], dict[str, str]] = {}
    for code, path in files:
        with path.open(newline="", encoding="utf-8") as fh:
            rows.update(((code, r["source_record_id"]), r) for r in csv.DictReader(fh))
    return rows


def missed_pairs(rows: dict[tuple[str, str], dict[str, str]], truth: dict[tuple[str, str], str],
                 result: dict[str, Any]) -> dict[str, Any]:
    """For every true pair of records (two records of one person) the pipeline did not put in one child: whether a
    record never reached the index (refused or held), was left for review, or was put in another child unproposed,
    and for those what differs between the two rows as sent. ``result`` holds the pipeline worker's
    ``clusters`` [[source, id, child]], ``held_records`` [[source, id]] and ``review_pairs`` [[child, child, why]].
    Also counts children holding more than one person (false links) and review items whose two children are one
    person."""
    child = {(s, r): c for s, r, c in result["clusters"]}
    held = {tuple(k) for k in result["held_records"]}
    reviewed = {frozenset((a, b)) for a, b, _ in result["review_pairs"]}
    people: dict[str, list[tuple[str, str]]] = {}
    for record, person in truth.items():
        if record in rows:
            people.setdefault(person, []).append(record)
    reasons: Counter[str] = Counter()
    differences: Counter[str] = Counter()
    for records in people.values():
        for i, a in enumerate(records):
            for b in records[i + 1:]:
                ca, cb = child.get(a), child.get(b)
                if ca is not None and ca == cb:
                    continue
                if ca is None or cb is None:
                    out = [x for x in (a, b) if child.get(x) is None]
                    reasons["a record held (too thin to make a child)" if any(x in held for x in out)
                            else "a record refused"] += 1
                    continue
                if frozenset((ca, cb)) in reviewed:
                    reasons["both taken, left for review"] += 1
                    continue
                reasons["both taken, in two children, not proposed for review"] += 1
                ra, rb = rows[a], rows[b]
                diff = []
                for column, label in COMPARED:
                    clean = _norm if "name" in column else str.strip
                    va, vb = clean(ra.get(column, "")), clean(rb.get(column, ""))
                    if not va or not vb:
                        if va or vb:
                            diff.append(f"{label} missing")
                    elif va != vb:
                        diff.append(f"{label} differs")
                differences.update(diff)
                differences[f"{len(diff)} differ or missing"] += 1
    persons: dict[str, Counter[str]] = {}
    for record, c in child.items():
        if record in truth:
            persons.setdefault(c, Counter())[truth[record]] += 1
    false_links = sum(1 for found in persons.values() if len(found) > 1)
    person_of = {c: next(iter(found)) for c, found in persons.items() if len(found) == 1}
    true_by_why = Counter(w for a, b, w in result["review_pairs"]
                          if a in person_of and person_of[a] == person_of.get(b))
    true_reviews = sum(true_by_why.values())
    why = Counter(w for _, _, w in result["review_pairs"])
    return {"reasons": reasons.most_common(), "differences": differences.most_common(), "false_links": false_links,
            "true_reviews": true_reviews, "review_why": [(w, n, true_by_why[w]) for w, n in why.most_common()]}


def print_missed(m: dict[str, Any], reviews: int) -> None:
    print(f"  true pairs missed: {sum(n for _, n in m['reasons']):,} ("
          + "; ".join(f"{r}: {n:,}" for r, n in m["reasons"]) + ")", flush=True)
    print("  in the pairs missed with both taken and not proposed, what differs: "
          + "; ".join(f"{d} {n:,}" for d, n in m["differences"]), flush=True)
    print(f"  children holding more than one person: {m['false_links']:,}; review items whose two children are one "
          f"person: {m['true_reviews']:,} of {reviews:,} ("
          + "; ".join(f"{w}: {t:,} of {n:,}" for w, n, t in m["review_why"])
          + ")", flush=True)


def placed_records(ring, truth: dict[tuple[str, str], str]) -> tuple[dict[str, tuple[str, str]],
                                                                      list[tuple[tuple[str, str], str]]]:
    """Which child each of the truth's source records went to, by its keyed record key (nothing decrypted): the
    record key of each (source, record ID), and ((source, record ID), child ID) for each record in the index."""
    from django.db import connection

    from contactpoint.children import source_records

    by_key = {source_records.record_key(ring, source, rid): (source, rid) for source, rid in truth}
    with connection.cursor() as cursor:
        cursor.execute("SELECT record_key, child_id FROM children_source_record WHERE active")
        clusters = [(by_key[key], str(child)) for key, child in cursor.fetchall() if key in by_key]
    return by_key, clusters


def frequencies_for(task: dict) -> bool:
    """Whether this run counts term frequencies before its load: if the model uses them, or ``--frequencies``
    asks (then the feeds use them whatever the model says)."""
    from contactpoint.ingest import batch
    from contactpoint.matching.model import uses_frequencies

    if task.get("frequencies"):
        batch.uses_frequencies = lambda: True  # this worker process only
        return True
    return uses_frequencies()


def count_frequencies(ring, paths) -> None:
    """``contactpoint match frequencies --files``: the national term frequencies counted from a first load's
    files before it runs (the bench's load is that first load)."""
    from django.utils import timezone

    from contactpoint.ingest.frequencies import from_files
    from contactpoint.matching.frequencies import store

    store(ring, from_files(paths, today=TODAY), now=timezone.now(), counted_from="files")
