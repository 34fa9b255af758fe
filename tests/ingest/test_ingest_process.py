"""The feed pipeline as an operator runs it: `contactpoint ingest` in its own process, killed with SIGKILL
part-way and run again, against a database of its own. The outcome must equal one clean run, and nothing
the feeds carried may be readable in the database file or in what the commands printed."""

from __future__ import annotations

import csv
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from datetime import date
from pathlib import Path

import pytest

from contactpoint.synthetic.generator import feed_files, generate
from contactpoint.synthetic.sources import CHILD_BENEFIT, GP, school_census, social_care
from tests.canary import CANARY, leaks_in

pytestmark = pytest.mark.slow

SOURCES = {GP: ("gp_registrations", "CP-NATIONAL"), CHILD_BENEFIT: ("child_benefit", "CP-NATIONAL"),
           school_census("202"): ("school_census", "LA-202"), social_care("202"): ("la_social_care", "LA-202")}
ORDER = (GP, CHILD_BENEFIT, school_census("202"), social_care("202"))
BATCH = "20"  # small enough that the feed killed part-way is killed between batches, with some taken
WHOLE = "500"  # the feeds around it, in one batch each: the same in the clean run and the crashed one


def _canary_row(columns: list[str]) -> dict[str, str]:
    row = dict.fromkeys(columns, "")
    row.update(source_record_id="GP-CANARY-1", given_name=CANARY["given"], family_name=CANARY["family"],
               gender="female", date_of_birth=CANARY["date_of_birth"].isoformat(), nhs_number=CANARY["nhs_number"],
               postcode=CANARY["postcode"], address_line_1="1 Canary Wharf Lane", town="London",
               whereabouts="current", carer_1_name=CANARY["carer"], carer_1_relationship="mother",
               carer_1_parental_responsibility="yes", updated_at="2026-11-01")
    return row


@pytest.fixture(scope="module")
def feeds(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("feeds")
    generate(400, 31, folder, ["202"], today=date.today(), bad_rows=4, workers=1)
    gp = folder / feed_files(["202"])[GP]
    with gp.open(newline="", encoding="utf-8") as f:
        columns = next(csv.reader(f))
    with gp.open("a", newline="", encoding="utf-8") as f:
        csv.DictWriter(f, columns).writerow(_canary_row(columns))
    return folder


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A var directory migrated, with a key ring and the four sources registered, copied for each installation a
    test makes (no process is using it then): migrating took seconds an installation, and the tests make five."""
    template = Instance(tmp_path_factory.mktemp("installed") / "var")
    template.setup()
    return template.var


class Instance:
    """One ContactPoint installation: its own var directory, SQLite database and key ring."""

    def __init__(self, var: Path, *, helpers: bool = False) -> None:
        self.var = var
        self.env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CONTACTPOINT_KEYRING")}
        self.env.update(CONTACTPOINT_VAR_DIR=str(var), CONTACTPOINT_ENV="development", PYTHONUNBUFFERED="1")
        if helpers:  # however small the feed, its work goes to helper processes (as a large feed's does)
            self.env.update(CONTACTPOINT_FEED_WORKERS="2", CONTACTPOINT_FEED_HELPERS_FROM_BYTES="0")
        self.printed: list[bytes] = []

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "contactpoint.cli", *args]

    def run(self, *args: str) -> str:
        done = subprocess.run(self.command(*args), check=False, env=self.env, capture_output=True, timeout=300)
        self.printed += [done.stdout, done.stderr]
        assert done.returncode == 0, done.stderr.decode()[-2000:]
        return done.stdout.decode()

    def setup(self, installed: Path | None = None) -> None:
        """Migrate and register the sources; or copy ``installed``, an installation so set up (``installed``)."""
        if installed is not None:
            shutil.copytree(installed, self.var)
            return
        self.run("migrate", "--verbosity", "0")
        for code, (kind, owner) in SOURCES.items():
            self.run("users", "register-source", "--code", code, "--name", code, "--kind", kind,
                     "--organisation", owner)

    def ingest(self, feeds: Path, code: str, batch: str = BATCH) -> str:
        return self.run("ingest", code, str(feeds / feed_files(["202"])[code]), "--batch-size", batch)

    def rows_done(self) -> int:
        try:
            with closing(sqlite3.connect(f"file:{self.var / 'contactpoint.sqlite3'}?mode=ro", uri=True,
                                         timeout=1)) as db:
                row = db.execute("select max(rows_done) from feeds_run where status = 'running'").fetchone()
        except sqlite3.Error:
            return 0
        return row[0] or 0

    def links(self) -> set[frozenset[tuple[str, str]]]:
        self.run("export-links", str(self.var / "links.csv"))
        groups: dict[str, set[tuple[str, str]]] = {}
        with (self.var / "links.csv").open(newline="") as f:
            for row in csv.DictReader(f):
                groups.setdefault(row["contactpoint_id"], set()).add((row["source"], row["source_record_id"]))
        return {frozenset(g) for g in groups.values()}

    def stored_bytes(self) -> bytes:
        return b"".join(p.read_bytes() for p in self.var.glob("contactpoint.sqlite3*"))


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except FileNotFoundError:  # a thread that ended after the listing (seen once, in a run beside benchmarks)
            continue
    return found


def test_a_feed_killed_part_way_and_run_again_gives_the_same_index_as_one_clean_run(feeds, installed, tmp_path):
    clean = Instance(tmp_path / "clean")
    clean.setup(installed)
    for code in ORDER:
        clean.ingest(feeds, code, BATCH if code == CHILD_BENEFIT else WHOLE)

    # Worked in helper processes, killed with them: the same index as the clean run worked in one process.
    crashed = Instance(tmp_path / "crashed", helpers=True)
    crashed.setup(installed)
    crashed.ingest(feeds, GP, WHOLE)
    victim = subprocess.Popen(crashed.command("ingest", CHILD_BENEFIT, str(feeds / feed_files(["202"])[CHILD_BENEFIT]),
                                              "--batch-size", BATCH), env=crashed.env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while crashed.rows_done() < 3 * int(BATCH) and victim.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert victim.poll() is None, "the feed finished before it could be killed: make it bigger"
    helpers = _children(victim.pid)
    assert len(helpers) >= 3  # two workers and the reader (and multiprocessing's resource tracker)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    killed_at = crashed.rows_done()
    assert 0 < killed_at < 400
    # Its helpers find their feed gone and stop: nothing is left running.
    deadline = time.monotonic() + 30
    while any(Path(f"/proc/{pid}").exists() for pid in helpers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(Path(f"/proc/{pid}").exists() for pid in helpers)

    resumed = crashed.ingest(feeds, CHILD_BENEFIT)
    assert "run " in resumed and "taken before" not in resumed
    for code in ORDER[2:]:
        crashed.ingest(feeds, code, WHOLE)

    assert crashed.links() == clean.links()
    # Every row counted once, though the first attempt died holding some of them.
    with closing(sqlite3.connect(crashed.var / "contactpoint.sqlite3")) as db:
        counts = db.execute("select rows_done, rows_accepted + rows_refused from feeds_run").fetchall()
    assert all(done == taken for done, taken in counts)

    # Sending the same file again changes nothing.
    again = crashed.ingest(feeds, CHILD_BENEFIT)
    assert "taken before" in again and "nothing changed" in again
    assert crashed.links() == clean.links()


def test_the_canary_child_fed_through_the_pipeline_is_nowhere_in_clear(feeds, installed, tmp_path):
    instance = Instance(tmp_path / "canary", helpers=True)
    instance.setup(installed)
    printed = instance.ingest(feeds, GP)
    assert "refused" in printed  # the generator's bad rows were refused and reported
    instance.run("export-links", str(tmp_path / "links.csv"))
    assert "GP-CANARY-1" in (tmp_path / "links.csv").read_text()  # the canary was taken in

    assert leaks_in(instance.stored_bytes()) == []
    assert leaks_in(b"".join(instance.printed)) == []


def test_a_load_killed_while_writing_and_run_again_gives_the_index_of_a_clean_load_with_nothing_in_clear(
        feeds, installed, tmp_path):
    files = [f"{code}={feeds / feed_files(['202'])[code]}" for code in ORDER]
    clean = Instance(tmp_path / "clean")
    clean.setup(installed)
    clean.run("load", *files)

    loaded = Instance(tmp_path / "loaded", helpers=True)
    loaded.setup(installed)
    victim = subprocess.Popen(loaded.command("load", *files, "--batch-size", "20"), env=loaded.env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    database = loaded.var / "contactpoint.sqlite3"

    def written() -> int:
        try:
            with closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=1)) as db:
                row = db.execute("select groups_done from feeds_load where stage = 'writing'").fetchone()
        except sqlite3.Error:
            return 0
        return row[0] if row else 0

    deadline = time.monotonic() + 120
    while written() < 40 and victim.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert victim.poll() is None, "the load finished before it could be killed: make it bigger"
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    assert 40 <= written() < 400

    resumed = loaded.run("load", *files, "--batch-size", "20")
    assert "children" in resumed and "loaded before" not in resumed
    assert loaded.links() == clean.links()
    assert "loaded before" in loaded.run("load", *files)

    assert "GP-CANARY-1" in (loaded.var / "links.csv").read_text()  # the canary was taken in
    assert leaks_in(loaded.stored_bytes()) == []
    assert leaks_in(b"".join(loaded.printed)) == []
    assert not list(loaded.var.rglob(".tmp")) and not (Path.cwd() / ".tmp").exists()  # nothing spilled
