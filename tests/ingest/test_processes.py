"""A large feed's work in helper processes (contactpoint.ingest.processes) gives what the main process would give,
and a helper's failure stops the batch without telling anything it was working on."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import time
from datetime import date, timedelta

import pytest

from contactpoint.children.models import Child, SourceRecord
from contactpoint.children.record import FIELD_GROUPS
from contactpoint.children.source_records import seal_record
from contactpoint.children.store import load_record
from contactpoint.config import FeedSettings, get_settings
from contactpoint.errors import FeedRejected, IngestProcessFailed
from contactpoint.ingest import processes
from contactpoint.ingest.prepare import chunks
from contactpoint.ingest.work import IndexKeys, NewJob, OpenJob, Origin, ViewJob, Worker
from contactpoint.synthetic.generator import feed_files, generate
from contactpoint.synthetic.sources import GP
from contactpoint.vault.cipher import ChildCipher, new_data_key
from contactpoint.vault.keyring import get_keyring
from tests.canary import CANARY
from tests.factories import vouched_org
from tests.ingest.test_candidates import SCHOOL_ROW, ZARA, child_id_of
from tests.matching.test_review import GP_ROW, NOW, feed, health_org, source

TODAY = date(2026, 11, 24)
ORIGIN = Origin("gp-registrations", "gp_registrations", "run-1", TODAY, "national", None)


@pytest.fixture(scope="module")
def gp_feed(tmp_path_factory) -> bytes:
    folder = tmp_path_factory.mktemp("feeds")
    generate(60, 7, folder, ["202"], today=TODAY, bad_rows=3, workers=1)
    return (folder / feed_files(["202"])[GP]).read_bytes()


def _options(batch_size: int = 25) -> dict:
    return {"fmt": "csv", "source_code": GP, "today": TODAY, "skip": 0, "batch_size": batch_size}


def _entries(data: bytes):
    return [e for chunk in chunks(data, keyring=get_keyring(), **_options()) for e in chunk.entries]


def _jobs(entries):
    """Each entry as a child of its own, with its record sealed as the database holds it."""
    opens, views, news = [], [], []
    for n, entry in enumerate(entries):
        key = new_data_key()
        cpid = f"{100000000 + n:011d}"
        stored = (GP, "gp_registrations", "run-0", TODAY, entry.key,
                  seal_record(ChildCipher(cpid, key), entry.key, entry.payload))
        opens.append(OpenJob(int(cpid), cpid, key, [stored]))
        views.append(ViewJob(int(cpid), cpid, key, live=True, shielded=n % 5 == 0, responsible_la="202",
                             added=[(entry.key + "-again", entry.payload)] if n % 2 else None))
        news.append(NewJob(cpid, key, [(entry.key, entry.payload)]))
    return opens, views, news


def _opened_view(view, job):
    """A view with its sealed groups opened (ciphertexts differ run to run: fresh nonces)."""
    cipher = ChildCipher(job.cpid, job.data_key)
    groups = tuple(cipher.open(g, sealed) for g, sealed in zip(FIELD_GROUPS, view.sealed.groups, strict=True))
    return groups, view.sealed.review_month, view.sealed.tokens, view.found, view.discrepancies, view.responsible_la


def test_workers_in_helper_processes_give_what_the_main_process_would(gp_feed):
    entries = _entries(gp_feed)[:40]
    opens, views, news = _jobs(entries)
    inline = Worker(get_keyring(), ORIGIN)
    workers = processes.Workers(2, IndexKeys.of(get_keyring()), ORIGIN)
    try:
        # ``views`` of a child ``open`` was given uses the records it opened (records=None).
        assert workers.open(opens) == inline.open(opens)
        here, there = inline.views(views), workers.views(views)
        assert [_opened_view(v, j) for v, j in zip(there, views, strict=True)] == \
            [_opened_view(v, j) for v, j in zip(here, views, strict=True)]
        here, there = inline.create(news), workers.create(news)
        assert [_opened_view(v, j) for v, j in zip(there, news, strict=True)] == \
            [_opened_view(v, j) for v, j in zip(here, news, strict=True)]
    finally:
        workers.close()


@pytest.mark.parametrize("from_disk", [False, True], ids=["bytes", "path"])
def test_the_reader_gives_the_batches_read_here(gp_feed, from_disk, tmp_path):
    # Given a file's path, the reader reads the file itself (nothing of it passes through the main process).
    here = list(chunks(gp_feed, keyring=get_keyring(), **_options()))
    path = tmp_path / "gp.csv"
    path.write_bytes(gp_feed)
    reader = processes.Reader(path if from_disk else gp_feed, keys=IndexKeys.of(get_keyring()),
                              source_kind="gp_registrations", **_options())
    try:
        there = list(reader)
    finally:
        reader.close()
    assert [(c.upto, c.refused, c.problems) for c in there] == [(c.upto, c.refused, c.problems) for c in here]
    assert any(c.problems for c in there)  # the generator's bad rows, refused with their line and reason
    for a, b in zip(there, here, strict=True):
        assert [(e.key, e.content_hash, e.payload) for e in a.entries] == \
            [(e.key, e.content_hash, e.payload) for e in b.entries]
        # Worked out ahead by the reader, for whichever records turn out new.
        assert [(e.tokens, e.profile) for e in a.entries] == \
            [(e.lookup(get_keyring()), e.match_profile("gp_registrations")) for e in b.entries]


def test_a_file_the_reader_cannot_read_is_refused_whole_with_the_same_reason(gp_feed):
    broken = gp_feed + b'GP-X,"a quote not closed where it should be"x\n'
    with pytest.raises(FeedRejected) as here:
        list(chunks(broken, keyring=get_keyring(), **_options()))
    reader = processes.Reader(broken, keys=IndexKeys.of(get_keyring()), source_kind="gp_registrations",
                              **_options())
    try:
        with pytest.raises(FeedRejected) as there:
            list(reader)
    finally:
        reader.close()
    assert there.value.message == here.value.message


def test_a_helpers_failure_stops_the_batch_and_says_where_not_what(gp_feed):
    [entry] = _entries(gp_feed)[:1]
    cpid = "10000000001"
    canary_key = CANARY["family"]  # a record key is opaque, but make sure nothing of the job comes back
    stored = (GP, "gp_registrations", "run-0", TODAY, canary_key,
              seal_record(ChildCipher(cpid, new_data_key()), canary_key, entry.payload))
    workers = processes.Workers(2, IndexKeys.of(get_keyring()), ORIGIN)
    try:
        with pytest.raises(IngestProcessFailed) as failed:
            workers.open([OpenJob(int(cpid), cpid, new_data_key(), [stored])])  # not the key it was sealed with
    finally:
        workers.close()
    message = failed.value.message
    assert "VaultError" in message and "send the feed again" in message
    assert canary_key not in message and cpid not in message



def test_a_worker_that_cannot_start_leaves_no_other_running(monkeypatch):
    real = processes._context()
    started = []

    class Context:  # the second worker cannot be started (out of processes, say)
        Pipe = staticmethod(real.Pipe)

        @staticmethod
        def Process(*args, **kwargs):
            if started:
                raise OSError("no more processes")
            started.append(real.Process(*args, **kwargs))
            return started[-1]

    monkeypatch.setattr(processes, "_context", lambda: Context)
    with pytest.raises(OSError) as failed:  # kept, as a caller reporting the error would keep it
        processes.Workers(2, IndexKeys.of(get_keyring()), ORIGIN)
    [first] = started
    first.join(timeout=10)
    assert not first.is_alive()
    assert "no more processes" in str(failed.value)

@pytest.fixture
def helped(monkeypatch) -> list:
    """Every feed, however small, worked in helper processes; the helpers started, as a list."""
    monkeypatch.setattr("contactpoint.config._settings", dataclasses.replace(
        get_settings(), feeds=FeedSettings(workers=2, helpers_from_bytes=0)))
    started: list = []
    real = processes.Workers.__init__

    def spy(self, *args, **kwargs):
        started.append(self)
        real(self, *args, **kwargs)

    monkeypatch.setattr(processes.Workers, "__init__", spy)
    return started


@pytest.mark.django_db
def test_a_feed_worked_in_helpers_links_creates_and_retires_records(helped):
    gp = source("gp-camden", "gp_registrations", health_org())
    feed(gp, GP_ROW, ZARA, now=NOW - timedelta(days=1))
    assert len(helped) == 1
    school = source("agar-grove", "school_census", vouched_org())
    run = feed(school, SCHOOL_ROW)
    assert run.records_linked == 1 and run.children_created == 0
    assert child_id_of("agar-grove", "S-1") == child_id_of("gp-camden", "GP-1")
    amelia = Child.objects.get(pk=child_id_of("gp-camden", "GP-1"))
    record = load_record(get_keyring(), amelia)
    assert record.education.value.name == "Agar Grove Primary" and record.gp.value.code == "F83004"
    # A full feed lists everything the source holds: Zara's record, missing from it, no longer counts.
    feed(gp, GP_ROW, mode="full")
    assert not SourceRecord.objects.get(child_id=child_id_of("gp-camden", "GP-2")).active
    assert len(helped) == 3  # one set of helpers per feed


@pytest.mark.django_db
def test_a_small_feed_is_worked_in_the_main_process(monkeypatch):
    started: list = []
    monkeypatch.setattr(processes.Workers, "__init__", lambda self, *a, **k: started.append(self))
    feed(source("gp-camden", "gp_registrations", health_org()), GP_ROW)  # far below the default 4 MiB
    assert started == []


def test_a_job_or_a_new_identity_shows_no_key_or_payload_when_printed(gp_feed):
    from contactpoint.children.store import new_identity

    [entry] = _entries(gp_feed)[:1]
    opens, views, news = _jobs([entry])
    identity = new_identity(get_keyring())
    for shown in (repr(opens[0]), repr(views[0]), repr(news[0]), repr(identity)):
        assert opens[0].data_key not in shown.encode() and repr(opens[0].data_key) not in shown
        assert entry.row.name.family not in shown
    assert repr(identity.data_key) not in repr(identity)


_STOPPED_PARENT = """
import multiprocessing, os, sys, time
from concurrent.futures import ProcessPoolExecutor
import django
django.setup()
from contactpoint.ingest import processes
pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"),
                           initializer=processes._die_with_parent, initargs=(os.getpid(),))
print(pool.submit(os.getpid).result(), flush=True)  # the helper has started, and been told to die with us
pool.submit(time.sleep, 120)  # a whole national file's reading, as far as anyone can tell
time.sleep(120)
"""


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/status") as status:
            return not any(line.startswith("State:") and "Z" in line for line in status)
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the helpers end with the main process on Linux")
def test_a_helper_ends_when_the_main_process_is_killed_in_the_middle_of_its_work():
    """A load killed (SIGKILL, the kernel for memory) while its readers each read a whole file: the readers end
    with it, rather than read on for an hour beside the load that resumes (they did, before)."""
    with subprocess.Popen([sys.executable, "-c", _STOPPED_PARENT], stdout=subprocess.PIPE, text=True,
                          env=os.environ.copy()) as parent:
        try:
            helper = int(parent.stdout.readline())
            assert _running(helper)
        finally:
            parent.kill()
    deadline = time.monotonic() + 15
    while _running(helper) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _running(helper)
