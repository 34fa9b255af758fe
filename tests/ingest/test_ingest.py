"""`feeds.ingest` on the test database (SQLite and PostgreSQL): refusals, idempotence, a crash part-way,
full feeds."""

from __future__ import annotations

import csv
import io
from contextlib import contextmanager
from datetime import date

import pytest
from django.db import connection
from django.utils import timezone

from contactpoint.access.models import Organisation
from contactpoint.access.sources import register_source
from contactpoint.audit.models import AuditEntry
from contactpoint.bestview.discrepancies import report
from contactpoint.bestview.models import Discrepancy
from contactpoint.children.models import Child, HeldRecord, SourceRecord
from contactpoint.errors import FeedBusy, FeedRejected
from contactpoint.feeds.models import FeedRun, RowProblem, RunKey
from contactpoint.ingest.batch import Batch
from contactpoint.ingest.run import ingest
from contactpoint.matching.links import links
from contactpoint.synthetic.generator import feed_files, generate
from contactpoint.synthetic.mess import MessRates
from contactpoint.synthetic.sources import CHILD_BENEFIT, GP

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, bytes]:
    folder = tmp_path_factory.mktemp("feeds")
    # Only the six deliberately broken rows carry a bad value (the generator's own mess, otherwise, carries some).
    generate(90, 5, folder, ["202"], today=date(2026, 11, 24), bad_rows=6, workers=1,
             rates=MessRates().without_bad_values())
    return {code: (folder / name).read_bytes() for code, name in feed_files(["202"]).items()}


def source(code: str, kind: str = "gp_registrations"):
    return register_source(None, code=code, name=code, kind=kind,
                           organisation=Organisation.objects.get(code="CP-NATIONAL"), now=timezone.now(),
                           keyring=_ring())


def _ring():
    from contactpoint.vault.keyring import get_keyring

    return get_keyring()


def take(src, data: bytes, **kw):
    return ingest(src, data, fmt="csv", keyring=_ring(), now=timezone.now(), batch_size=kw.pop("batch_size", 25),
                  **kw)


def partition() -> set[frozenset[tuple[str, str]]]:
    groups: dict[str, set[tuple[str, str]]] = {}
    for src, record_id, cpid in links(_ring()):
        groups.setdefault(cpid, set()).add((src, record_id))
    return {frozenset(g) for g in groups.values()}


def snapshot():
    return (Child.objects.count(), SourceRecord.objects.count(),
            sorted(SourceRecord.objects.values_list("record_key", "content_hash", "active")), partition())


def test_a_bad_value_costs_that_value_flagged_with_line_and_reason_and_never_the_row(files):
    data = files[GP]
    lines = data.decode().splitlines()
    outcome = take(source(GP), data)
    run = outcome.run
    assert run.status == FeedRun.Status.COMPLETED
    assert run.rows_done == len(lines) - 1
    assert run.rows_refused == 0 and run.rows_accepted == run.rows_done  # not one row dropped
    problems = list(RowProblem.objects.filter(run=run, kind="value"))
    assert len(problems) == 6  # the six deliberately broken rows, one value each
    for problem in problems:
        assert 2 <= problem.line <= len(lines) and problem.field and problem.reason
        # The reason names what is wrong, never the value: the row's text is not in it.
        bad_line = lines[problem.line - 1]
        for value in [v for v in next(csv.reader(io.StringIO(bad_line))) if len(v) > 5]:
            assert value not in problem.reason
    # The broken rows are about children no other row knows: those that lost their date of birth cannot make a
    # child and are held, the others are children, with their bad value an item for the source to correct.
    lost_birth = {p.line for p in problems if p.field == "date_of_birth"}
    assert lost_birth and HeldRecord.objects.filter(source=GP).count() == len(lost_birth)
    assert SourceRecord.objects.filter(source=GP).count() == run.rows_accepted - len(lost_birth)
    items = Discrepancy.objects.filter(source=GP, kind=Discrepancy.Kind.INVALID, closed_at__isnull=True)
    assert sorted(i.field for i in items) == sorted(p.field for p in problems if p.line not in lost_birth)


def test_a_feed_saved_by_excel_on_windows_is_taken_whole_and_its_source_asked_to_send_utf8(files):
    """Windows-1252, as Excel's "CSV (Comma delimited)" saves it: one Zoë refused every child in the file. Each row
    that was not UTF-8 is taken, the child made with the name as written, and the source is asked to check it
    and send UTF-8; the same rows sent again in UTF-8 close the items."""
    text = files[GP].decode()
    header, *rows = text.splitlines()
    rows[1] = rows[1].replace(rows[1].split(",")[1], "Zoë", 1)
    windows = (header + "\n" + "\n".join(rows) + "\n").encode("cp1252")
    gp = source(GP)
    outcome = take(gp, windows)
    run = outcome.run
    assert run.status == FeedRun.Status.COMPLETED and run.rows_refused == 0 and run.rows_done == len(rows)
    flagged = list(RowProblem.objects.filter(run=run, field="encoding").values_list("line", "kind"))
    assert flagged == [(3, "value")]  # only the line that was not UTF-8: the rest are ASCII, the same in both
    assert run.fields_refused == RowProblem.objects.filter(run=run, kind="value").count() - 1  # nothing lost
    [item] = [i for i in report(GP, keyring=_ring()) if i.field == "encoding"]
    assert item.message.startswith("Your record was taken, but the line is not UTF-8: it was read as "
                                   "Windows-1252") and "Zo" not in item.message
    take(gp, windows.decode("cp1252").encode("utf-8"), mode="delta")
    assert not [i for i in report(GP, keyring=_ring()) if i.field == "encoding"]


def test_the_same_feed_twice_changes_nothing(files):
    gp, benefit = source(GP), source(CHILD_BENEFIT, "child_benefit")
    take(gp, files[GP])
    take(benefit, files[CHILD_BENEFIT])
    before, entries = snapshot(), AuditEntry.objects.count()
    again = take(benefit, files[CHILD_BENEFIT])
    assert again.already_done
    assert snapshot() == before
    # Only the fact that the file was sent again is recorded.
    assert AuditEntry.objects.count() == entries + 1


def test_rows_unchanged_since_the_source_last_sent_them_are_skipped(files):
    gp = source(GP)
    first = take(gp, files[GP]).run
    # The same rows in a new file (a delta that repeats itself, with one row added at the end).
    lines = files[GP].decode().splitlines(keepends=True)
    header, body = lines[0], lines[1:]
    extra = body[0].replace(body[0].split(",", 1)[0], "GP-EXTRA-1", 1)
    second = take(gp, (header + "".join(body) + extra).encode()).run
    assert second.rows_unchanged == first.rows_accepted
    assert second.children_created + second.records_linked <= 1


def test_a_crash_part_way_leaves_whole_batches_and_a_rerun_completes_like_a_clean_run(files, monkeypatch):
    gp = source(GP)
    take(gp, files[GP])
    clean_partition = partition()
    # Start again from nothing, and crash in the third batch.
    SourceRecord.objects.all().delete()
    Child.objects.all().delete()
    FeedRun.objects.all().delete()

    real = Batch.process
    calls = {"n": 0}

    def crashing(self, rows):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("the machine lost power")
        return real(self, rows)

    monkeypatch.setattr(Batch, "process", crashing)
    with pytest.raises(RuntimeError):
        take(gp, files[GP])
    run = FeedRun.objects.get()
    assert run.status == FeedRun.Status.RUNNING and run.rows_done == 50  # two whole batches of 25
    assert SourceRecord.objects.count() + run.rows_refused == 50

    monkeypatch.setattr(Batch, "process", real)
    resumed = take(gp, files[GP])
    assert not resumed.already_done and resumed.run.id == run.id
    assert resumed.run.status == FeedRun.Status.COMPLETED
    assert partition() == clean_partition


def test_a_full_feed_retires_what_the_source_no_longer_holds(files):
    gp = source(GP)
    take(gp, files[GP], mode="full")
    lines = files[GP].decode().splitlines(keepends=True)
    kept = lines[:-20]  # the last 20 rows (including the bad ones) are gone from the source
    take(gp, "".join(kept).encode(), mode="full")
    inactive = SourceRecord.objects.filter(source=GP, active=False).count()
    assert 0 < inactive <= 20
    assert SourceRecord.objects.filter(source=GP, active=True).count() + inactive == \
        SourceRecord.objects.filter(source=GP).count()


def test_a_full_feed_read_from_disk_retires_the_same_records_and_keeps_no_keys(files, tmp_path):
    # `contactpoint ingest` hands the run the file's path: read as a stream, never held whole. The record keys a
    # run has taken are kept in the database while it runs (a full feed's retirements, repeats), then deleted.
    gp = source(GP)
    take(gp, files[GP], mode="full")
    lines = files[GP].decode().splitlines(keepends=True)
    path = tmp_path / "gp.csv"
    path.write_text("".join(lines[:-20]))
    outcome = take(gp, path, mode="full")
    assert outcome.run.status == FeedRun.Status.COMPLETED and outcome.run.rows_done == len(lines) - 21
    assert 0 < SourceRecord.objects.filter(source=GP, active=False).count() <= 20
    assert not RunKey.objects.exists()
    assert take(gp, path, mode="full").already_done  # the same file, by its SHA-256 read from disk


def _with_repeats(data: bytes) -> tuple[bytes, list[int]]:
    """The feed with three rows sent again later in the file: one in the same batch of 25, two batches later."""
    lines = data.decode().splitlines(keepends=True)
    body = lines[1:]
    again = [body[3], body[10], body[40]]
    rows = body[:20] + [again[0]] + body[20:70] + [again[1], again[2]] + body[70:]
    return (lines[0] + "".join(rows)).encode(), [22, 73, 74]  # their lines (the header is line 1)


def test_a_row_repeating_an_earlier_record_id_is_refused_and_the_first_is_kept(files):
    data, repeated_lines = _with_repeats(files[GP])
    gp = source(GP)
    run = take(gp, data).run
    refusals = RowProblem.objects.filter(run=run, kind="row", field="source_record_id")
    assert sorted(refusals.values_list("line", flat=True)) == repeated_lines
    assert all("already sent earlier in this feed" in p.reason for p in refusals)
    assert run.rows_refused == 3 and run.rows_accepted == run.rows_done - 3
    clean = take(source(GP + "-clean"), files[GP]).run  # the same feed without the repeats
    assert (run.rows_accepted, run.rows_held) == (clean.rows_accepted, clean.rows_held)
    assert SourceRecord.objects.filter(source=GP).count() == SourceRecord.objects.filter(source=GP + "-clean").count()


def test_a_repeat_of_a_row_taken_before_a_crash_is_still_refused_on_resuming(files, monkeypatch):
    data, repeated_lines = _with_repeats(files[GP])
    gp = source(GP)
    real = Batch.process
    calls = {"n": 0}

    def crashing(self, rows):
        calls["n"] += 1
        if calls["n"] == 3:  # after the batch holding the first repeat's original (rows 1-25)
            raise RuntimeError("the machine lost power")
        return real(self, rows)

    monkeypatch.setattr(Batch, "process", crashing)
    with pytest.raises(RuntimeError):
        take(gp, data)
    assert RunKey.objects.count() == 49  # two whole batches of 25, one of them a repeat
    monkeypatch.setattr(Batch, "process", real)
    run = take(gp, data).run
    assert run.status == FeedRun.Status.COMPLETED
    assert sorted(RowProblem.objects.filter(run=run, field="source_record_id").values_list("line", flat=True)) == \
        repeated_lines
    assert not RunKey.objects.exists()


def test_a_file_that_cannot_be_read_is_refused_whole():
    gp = source(GP)
    with pytest.raises(FeedRejected):
        take(gp, b"\xff\xfe not a csv file \x00\x00")
    assert SourceRecord.objects.count() == 0
    assert FeedRun.objects.get().status == FeedRun.Status.REJECTED


def test_a_file_found_unreadable_part_way_is_refused_whole_with_nothing_kept(files):
    gp = source(GP)
    broken = files[GP] + b'GP-BROKEN,"an unclosed quote\n'
    with pytest.raises(FeedRejected):
        take(gp, broken, batch_size=10)
    assert SourceRecord.objects.count() == 0 and Child.objects.count() == 0
    assert FeedRun.objects.get().status == FeedRun.Status.REJECTED


def test_a_run_that_forgets_what_it_opened_between_batches_makes_the_same_index(files, monkeypatch):
    # A run's caches of opened children are bounded (``batch.CACHED_CHILDREN``): trimmed between batches once
    # past the bound (to nothing, with a bound of 0). Forgetting after every batch must change nothing but the work
    # done.
    from contactpoint.ingest import batch

    take(source(GP), files[GP])
    take(source(CHILD_BENEFIT, "child_benefit"), files[CHILD_BENEFIT])
    cached = snapshot()
    for model in (SourceRecord, Child, FeedRun):
        model.objects.all().delete()
    forgotten = []
    real = batch._Keys.forget
    monkeypatch.setattr(batch, "CACHED_CHILDREN", 0)
    monkeypatch.setattr(batch._Keys, "forget",
                        lambda self, keep=0: (forgotten.append(len(self)), real(self, keep))[1])

    take(source(GP + "-again"), files[GP])
    take(source(CHILD_BENEFIT + "-again", "child_benefit"), files[CHILD_BENEFIT])

    assert len(forgotten) > 4 and all(n > 0 for n in forgotten)
    again = snapshot()
    same_sources = {frozenset((src.removesuffix("-again"), rid) for src, rid in group) for group in again[3]}
    assert again[0] == cached[0] and same_sources == cached[3]


@contextmanager
def another_process_taking_in(run_id: str):
    """What a second worker running the same file holds: its own database session's lock on PostgreSQL, its own
    open lock file on SQLite."""
    from contactpoint.ingest.run import only_runner

    if connection.vendor != "postgresql":
        with only_runner(f"feed:{run_id}"):
            yield
        return
    import hashlib

    import psycopg

    key = int.from_bytes(hashlib.sha256(f"feed:{run_id}".encode()).digest()[:8], "big", signed=True)
    db = connection.settings_dict
    with psycopg.connect(dbname=db["NAME"], user=db["USER"], host=db["HOST"], port=db["PORT"] or 5432,
                         password=db["PASSWORD"] or None, autocommit=True) as other:
        assert other.execute("SELECT pg_try_advisory_lock(%s)", [key]).fetchone()[0]
        yield


def test_a_file_another_process_is_taking_in_is_left_to_it(files, monkeypatch):
    gp = source(GP)
    real = Batch.process

    def stopped(self, rows):
        raise RuntimeError("stopped, its run left running")

    monkeypatch.setattr(Batch, "process", stopped)
    with pytest.raises(RuntimeError):
        take(gp, files[GP])
    monkeypatch.setattr(Batch, "process", real)
    run = FeedRun.objects.get()
    with another_process_taking_in(run.id), pytest.raises(FeedBusy):
        take(gp, files[GP])
    assert Child.objects.count() == 0 and FeedRun.objects.get().rows_done == 0  # nothing taken twice
    # Once the other is done (or gone), the file is taken in.
    assert take(gp, files[GP]).run.status == FeedRun.Status.COMPLETED and Child.objects.exists()
