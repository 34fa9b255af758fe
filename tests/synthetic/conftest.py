"""One generated run shared by the synthetic-data tests (generating is the slow part), and ways to read it."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from contactpoint.synthetic.generator import TRUTH_FILE, generate
from contactpoint.synthetic.mess import MessRates
from contactpoint.synthetic.population import Child, Household, Population
from contactpoint.synthetic.world import build_world, chunk_plan

TODAY = date(2026, 11, 24)
SEED = 11
LAS = ["202", "203"]
CHILDREN = 2000
LARGER_SEED, LARGER_CHILDREN = 23, 6000


@dataclass
class Run:
    out: Path
    today: date
    feeds: dict[str, list[dict[str, str]]]  # source -> rows
    truth: dict[tuple[str, str], str]  # (source, source_record_id) -> person_id
    households: list[Household]

    @property
    def children(self) -> dict[str, tuple[Child, Household]]:
        return {c.person_id: (c, h) for h in self.households for c in h.children}

    def rows_with_people(self):
        """(source, row, child, household) for every row in truth.csv."""
        people = self.children
        for source, rows in self.feeds.items():
            for row in rows:
                person = self.truth.get((source, row["source_record_id"]))
                if person:
                    child, household = people[person]
                    yield source, row, child, household


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def source_of(path: Path) -> str:
    return path.name.removesuffix(".csv")


def read_run(out: Path, today: date, households: list[Household]) -> Run:
    feeds = {source_of(p): read_csv(p) for p in sorted(out.glob("*.csv")) if p.name != TRUTH_FILE}
    truth = {(r["source"], r["source_record_id"]): r["person_id"] for r in read_csv(out / TRUTH_FILE)}
    return Run(out, today, feeds, truth, households)


def rebuild_population(children: int, seed: int, las: list[str], today: date,
                       rates: MessRates | None = None) -> list[Household]:
    """The truth behind a run: the same households the generator made (they come from their own RNG)."""
    rates = rates or MessRates()
    plan = chunk_plan(children)
    world = build_world(seed, tuple(las), children, today, rates, len(plan))
    households: list[Household] = []
    for number, chunk in enumerate(plan):
        households.extend(Population(world, number, chunk.start).households(chunk.stop))
    return households


@pytest.fixture(scope="session")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    out = tmp_path_factory.mktemp("synthetic")
    generate(CHILDREN, SEED, out, LAS, TODAY)
    return read_run(out, TODAY, rebuild_population(CHILDREN, SEED, LAS, TODAY))


@pytest.fixture(scope="session")
def larger_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """Enough children for the rarer kinds of mess, and those of the few social care rows, to be counted."""
    out = tmp_path_factory.mktemp("synthetic-larger")
    generate(LARGER_CHILDREN, LARGER_SEED, out, LAS, TODAY)
    return read_run(out, TODAY, rebuild_population(LARGER_CHILDREN, LARGER_SEED, LAS, TODAY))


@pytest.fixture(scope="session")
def run_with_bad_rows(tmp_path_factory: pytest.TempPathFactory) -> Run:
    out = tmp_path_factory.mktemp("synthetic-bad")
    generate(300, SEED, out, LAS, TODAY, bad_rows=12)
    return read_run(out, TODAY, rebuild_population(300, SEED, LAS, TODAY))
