"""``generate``: a synthetic population written as the feeds of its source systems, plus the answer key.

The same (children, seed, LAs, today, rates, coverage, bad rows) always gives byte-for-byte the same files,
however many worker processes run it: every random draw comes from an RNG seeded from the seed, a stream name
and a chunk number; nothing depends on the process (hash randomisation, set order, the clock); and each chunk
writes its own part files, joined in chunk order at the end (see ``world``).
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import tempfile
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from contactpoint.reference import local_authority
from contactpoint.synthetic.badrows import break_row
from contactpoint.synthetic.mess import MessRates
from contactpoint.synthetic.population import Child, Household, Population
from contactpoint.synthetic.sources import CHILD_BENEFIT, GP, Coverage, Sources, school_census, social_care
from contactpoint.synthetic.views import Row
from contactpoint.synthetic.world import CHUNK_CHILDREN, build_world, chunk_plan
from contactpoint.synthetic.writer import FEED_COLUMNS, TRUTH_COLUMNS, FeedWriter, TruthWriter, header_line

TRUTH_FILE = "truth.csv"
# NHS numbers for 30 million children fit England's ranges (see ``ids``); England has about 11 million.
MAX_CHILDREN = 25_000_000


@dataclass(frozen=True)
class FileSummary:
    path: Path
    rows: int


@dataclass(frozen=True)
class GenerationSummary:
    children: int
    households: int
    files: tuple[FileSummary, ...]


def feed_files(las: list[str] | tuple[str, ...]) -> dict[str, str]:
    """Source code -> file name, for every feed a run writes."""
    files = {GP: f"{GP}.csv", CHILD_BENEFIT: f"{CHILD_BENEFIT}.csv"}
    for la in las:
        files[school_census(la)] = f"{school_census(la)}.csv"
        files[social_care(la)] = f"{social_care(la)}.csv"
    return files


def check_las(las: list[str]) -> tuple[str, ...]:
    """The LA codes, in the order given, without repeats; a ``ValueError`` naming any that is unknown."""
    unique = tuple(dict.fromkeys(code.strip() for code in las if code.strip()))
    if not unique:
        raise ValueError("give at least one local authority code")
    unknown = [code for code in unique if not (la := local_authority(code)) or not la.current]
    if unknown:
        raise ValueError(f"not a current local authority code: {', '.join(unknown)}")
    return unique


def available_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


@dataclass(frozen=True)
class _Chunk:
    """One chunk's work, as sent to a worker process."""

    seed: int
    las: tuple[str, ...]
    children: int
    today: date
    rates: MessRates
    coverage: Coverage
    chunks: int
    number: int
    start: int
    stop: int
    folder: Path


def generate(children: int, seed: int, out: Path, las: list[str] | None = None, today: date | None = None,
             *, rates: MessRates | None = None, coverage: Coverage | None = None, bad_rows: int = 0,
             workers: int | None = None, chunk_children: int = CHUNK_CHILDREN) -> GenerationSummary:
    """Write the feeds and truth.csv for ``children`` synthetic children into ``out``."""
    if not 1 <= children <= MAX_CHILDREN:
        raise ValueError(f"generate between 1 and {MAX_CHILDREN:,} children")
    if bad_rows < 0:
        raise ValueError("the number of bad rows cannot be negative")
    codes = check_las(las or ["202"])
    today = today or date.today()
    rates, coverage = rates or MessRates(), coverage or Coverage()
    out.mkdir(parents=True, exist_ok=True)
    plan = chunk_plan(children, chunk_children)
    parts = Path(tempfile.mkdtemp(prefix=".generating-", dir=out))
    try:
        jobs = [_Chunk(seed, codes, children, today, rates, coverage, len(plan), n, r.start, r.stop,
                       parts / f"{n:03d}") for n, r in enumerate(plan)]
        results = _run_all(jobs, workers or available_cpus())
        names = [*feed_files(codes).values(), TRUTH_FILE]
        for name in names:
            _join_parts(out / name, [job.folder / name for job in jobs],
                        TRUTH_COLUMNS if name == TRUTH_FILE else FEED_COLUMNS)
        households = sum(made for made, _ in results)
        rows = {name: sum(counts[name] for _, counts in results) for name in names}
        if bad_rows:
            _append_bad_rows(jobs[0], out, bad_rows, rows)
    finally:
        shutil.rmtree(parts, ignore_errors=True)
    return GenerationSummary(children, households, tuple(FileSummary(out / n, rows[n]) for n in names))


def _run_all(jobs: list[_Chunk], workers: int) -> list[tuple[int, dict[str, int]]]:
    if workers <= 1 or len(jobs) == 1:
        return [_run_chunk(job) for job in jobs]
    # 'spawn', not 'fork': forking a process that may hold threads (Django, a test runner) can deadlock.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(workers, len(jobs)), mp_context=context) as pool:
        return list(pool.map(_run_chunk, jobs))


def _run_chunk(job: _Chunk) -> tuple[int, dict[str, int]]:
    """Write one chunk's part files (no header rows); returns how many households it made and the rows
    written to each file."""
    world = build_world(job.seed, job.las, job.children, job.today, job.rates, job.chunks)
    population = Population(world, job.number, job.start)
    sources = Sources(world, job.number, job.coverage)
    job.folder.mkdir()
    writers = {source: FeedWriter(job.folder / name, source, header=False)
               for source, name in feed_files(job.las).items()}
    households = 0
    try:
        with TruthWriter(job.folder / TRUTH_FILE, header=False) as truth:

            def write(rows: Iterable[tuple[str, Row, Child]]) -> None:
                for source, row, child in rows:
                    writers[source].write(row)
                    truth.write(source, str(row["source_record_id"]), child.person_id)

            for household in population.households(job.stop):
                households += 1
                write(sources.rows(household))
            write(sources.duplicates())  # children some sources send twice: after the chunk's last household
    finally:
        for writer in writers.values():
            writer.close()
    counts = {writer.path.name: writer.rows for writer in writers.values()} | {TRUTH_FILE: truth.rows}
    return households, counts


def _join_parts(path: Path, parts: list[Path], columns: tuple[str, ...]) -> None:
    """The header, then each part in order."""
    with path.open("wb") as joined:
        joined.write(header_line(columns))
        for part in parts:
            with part.open("rb") as source:
                shutil.copyfileobj(source, joined, 1 << 20)


def source_kind(source: str) -> str:
    if source == GP:
        return "gp"
    if source == CHILD_BENEFIT:
        return "child_benefit"
    return "school" if source.startswith("school-census-") else "social_care"


def _append_bad_rows(job: _Chunk, out: Path, count: int, rows: dict[str, int]) -> None:
    """Bad rows come from a chunk of their own (number ``chunks``), after the last real child, so they
    disturb no real row and share no identifier with a real child."""
    world = build_world(job.seed, job.las, job.children, job.today, job.rates, job.chunks)
    population = Population(world, world.chunks, job.children)
    sources = Sources(world, world.chunks, job.coverage, rates=world.rates.without_bad_values())  # one fault each
    for source, name in feed_files(job.las).items():
        with FeedWriter(out / name, source, header=False, append=True) as writer:
            for n in range(count):
                writer.write(_bad_row(source, n, population, sources, job.today))
        rows[name] += count


def _bad_row(source: str, n: int, population: Population, sources: Sources, today: date) -> Row:
    """A row about a child made only for it, with one value broken."""
    kind = source_kind(source)
    la = source.rsplit("-", 1)[1] if kind in ("school", "social_care") else None
    household, child = _bad_child(population, la, needs_school=kind == "school",
                                  needs_upn=kind == "social_care")
    if kind == "gp":
        row = sources.gp_row(child, household)
    elif kind == "child_benefit":
        row = sources.child_benefit_row(child, household, 1, household.carers[0])
    elif kind == "school":
        row = sources.school_row(child, household)
    else:
        row = sources.social_care_row(child, household)
    valid = {"nhs_number": child.nhs_number, "upn": child.upn, "uln": child.uln,
             "postcode": str(row.get("postcode") or household.address.postcode)}
    break_row(kind, n, row, sources.rng, today, valid)
    return row


def _bad_child(population: Population, la: str | None, *, needs_school: bool,
               needs_upn: bool) -> tuple[Household, Child]:
    """A lone child in a new household, of an age that has the identifiers the breakage needs."""
    while True:
        household = population.household(limit=1, la_code=la)
        child = household.children[0]
        if needs_school and not (child.school and child.uln):
            continue
        if needs_upn and not child.upn:
            continue
        return household, child
