"""Same arguments, same bytes, whatever the process, hash seed or number of workers. And the command."""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
from datetime import date
from itertools import pairwise
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from contactpoint.synthetic.generator import generate
from contactpoint.synthetic.world import chunk_plan

TODAY = date(2026, 11, 24)


def digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_same_seed_gives_identical_files(tmp_path):
    generate(400, 5, tmp_path / "a", ["202", "203"], TODAY, bad_rows=3)
    generate(400, 5, tmp_path / "b", ["202", "203"], TODAY, bad_rows=3)
    assert digest(tmp_path / "a") == digest(tmp_path / "b")


def test_another_seed_or_day_gives_other_files(tmp_path):
    generate(200, 5, tmp_path / "a", ["202"], TODAY)
    generate(200, 6, tmp_path / "b", ["202"], TODAY)
    generate(200, 5, tmp_path / "c", ["202"], date(2026, 11, 25))
    a, b, c = digest(tmp_path / "a"), digest(tmp_path / "b"), digest(tmp_path / "c")
    assert a["gp-registrations.csv"] != b["gp-registrations.csv"] != c["gp-registrations.csv"]


def test_output_does_not_depend_on_the_process_or_its_hash_seed(tmp_path):
    script = ("import sys; from datetime import date; from pathlib import Path; "
              "from contactpoint.synthetic.generator import generate; "
              "generate(300, 9, Path(sys.argv[1]), ['202', '886'], date(2026, 11, 24), bad_rows=2, "
              "workers=1)")
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        subprocess.run([sys.executable, "-c", script, str(tmp_path / hash_seed)], check=True, env=env)
    generate(300, 9, tmp_path / "here", ["202", "886"], TODAY, bad_rows=2, workers=1)
    assert digest(tmp_path / "1") == digest(tmp_path / "2") == digest(tmp_path / "here")


def test_worker_processes_write_exactly_what_one_process_writes(tmp_path):
    assert len(chunk_plan(1500, 500)) == 3
    generate(1500, 3, tmp_path / "one", ["202", "203"], TODAY, bad_rows=2, workers=1, chunk_children=500)
    generate(1500, 3, tmp_path / "two", ["202", "203"], TODAY, bad_rows=2, workers=2, chunk_children=500)
    assert digest(tmp_path / "one") == digest(tmp_path / "two")


def test_chunks_cover_every_child_once_and_depend_only_on_the_number_of_children():
    for children in (1, 7, 49_999, 50_001, 1_000_000, 11_000_000):
        plan = chunk_plan(children)
        assert plan[0].start == 0 and plan[-1].stop == children and len(plan) <= 64
        assert all(before.stop == after.start for before, after in pairwise(plan))


def test_generate_command_writes_the_feeds_and_says_what_it_wrote(tmp_path):
    stdout = io.StringIO()
    call_command("generate", "--children", "150", "--seed", "4", "--out", str(tmp_path), "--las", "202,203",
                 "--today", "2026-11-24", "--bad-rows", "1", stdout=stdout)
    lines = stdout.getvalue().splitlines()
    assert len(lines) == 7
    assert lines[0].startswith(f"{tmp_path / 'gp-registrations.csv'}: ") and lines[0].endswith(" rows")
    assert lines[-1].startswith(f"{tmp_path / 'truth.csv'}: ")
    assert not any(p.name.startswith(".") for p in tmp_path.iterdir())  # no part files left behind


def test_generate_command_defaults_to_camden(tmp_path):
    call_command("generate", "--children", "20", "--seed", "4", "--out", str(tmp_path),
                 "--today", "2026-11-24", stdout=io.StringIO())
    assert (tmp_path / "school-census-202.csv").exists() and (tmp_path / "la-social-care-202.csv").exists()


@pytest.mark.parametrize(("arguments", "message"), [
    (["--las", "202,999"], "not a current local authority code: 999"),
    (["--las", "909"], "not a current local authority code: 909"),  # Cumbria, replaced in 2023
    (["--today", "24/11/2026"], "--today must be a date written YYYY-MM-DD"),
    (["--children", "0"], "children"),
    (["--bad-rows", "-1"], "bad-rows"),
])
def test_generate_command_refuses_bad_arguments_with_one_clear_line(tmp_path, arguments, message):
    base = {"--children": "10", "--seed": "1", "--out": str(tmp_path)}
    base.update(dict(zip(arguments[::2], arguments[1::2], strict=True)))
    with pytest.raises(CommandError, match=message):
        call_command("generate", *[x for pair in base.items() for x in pair], stdout=io.StringIO())
