"""``contactpoint worker``: feeds sent over the API and the service's schedules, as jobs in the database's queue
(``contactpoint.ingest.jobs``)."""

from __future__ import annotations

import dataclasses
import io
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from contactpoint.access.models import SourceSystem
from contactpoint.audit.models import AuditEntry
from contactpoint.children.models import Child
from contactpoint.config import get_settings
from contactpoint.feeds.models import FeedJob, FeedRun
from contactpoint.ingest import jobs
from contactpoint.vault.keyring import get_keyring
from tests.factories import make_person, sign_in
from tests.jobs import run_jobs
from tests.matching.test_review import AMELIA, GP_ROW, csv_bytes, feed, health_org, source

pytestmark = pytest.mark.django_db


def _gp():
    return source("gp-camden", "gp_registrations", health_org())


def _send(src, *rows):
    return jobs.submit(src, csv_bytes(list(rows)), fmt="csv", mode="delta", keyring=get_keyring(),
                       now=timezone.now())


def _pending(name: str) -> list[DBTaskResult]:
    return [r for r in DBTaskResult.objects.filter(task_path=jobs.scheduled.module_path, status="READY")
            if r.args_kwargs["args"] == [name]]


def test_a_worker_starting_queues_each_schedule_once_and_each_run_queues_the_next(monkeypatch):
    # The commands themselves are tried by their own tests (the monitor's pass, for one, closes its database
    # connection when done, as a long-running process's should): here, that each is run as an operator would.
    commands = []
    monkeypatch.setattr(jobs, "call_command", lambda *args, **kwargs: commands.append(args))
    assert jobs.queue_schedules() == len(jobs.SCHEDULES)
    assert jobs.queue_schedules() == 0  # already queued: not twice
    before = timezone.now()

    ran = run_jobs()

    assert ran == len(jobs.SCHEDULES)  # each ran once, and its next run is not due yet
    assert sorted(commands) == sorted(s.command for s in jobs.SCHEDULES if s.command)
    for schedule in jobs.SCHEDULES:
        [next_run] = _pending(schedule.name)
        assert next_run.run_after > before, schedule.name
    assert not DBTaskResult.objects.filter(status="FAILED").exists()


def test_a_schedule_runs_daily_at_its_time_or_every_so_often():
    at = datetime(2026, 12, 4, 2, 30, tzinfo=UTC)
    assert jobs.BY_NAME["lifecycle"].next_run(at) == at.replace(hour=3, minute=0)
    assert jobs.BY_NAME["partitions"].next_run(at) == at.replace(day=5, hour=1, minute=0)
    assert jobs.BY_NAME["monitor"].next_run(at) == at + timedelta(minutes=1)


def test_a_feed_job_left_running_by_a_killed_worker_is_queued_again_and_resumes():
    job = _send(_gp(), GP_ROW, GP_ROW | {"source_record_id": "GP-2", "given_name": "Zara", "nhs_number": ""})
    [task] = DBTaskResult.objects.filter(task_path=jobs.run_feed.module_path)
    task.claim("a-worker-since-killed")
    FeedJob.objects.filter(pk=job.pk).update(status=FeedJob.Status.RUNNING)

    assert jobs.recover(timezone.now() + timedelta(seconds=1)) == 1
    run_jobs()

    job.refresh_from_db()
    assert job.status == FeedJob.Status.COMPLETED and job.run.rows_done == 2 and Child.objects.count() == 2
    assert DBTaskResult.objects.get(pk=task.pk).status == "FAILED"  # the dead worker's claim, ended


def test_a_job_that_fails_keeps_no_value_in_the_queue_or_the_job(monkeypatch):
    def broken(*args, **kwargs):
        raise ValueError("Amelia Hartley 9434765919")

    monkeypatch.setattr(jobs, "ingest", broken)
    job = _send(_gp(), GP_ROW)
    run_jobs()
    job.refresh_from_db()
    assert job.status == FeedJob.Status.FAILED and "send the same file again" in job.message
    assert bytes(job.payload) == b""  # not kept: the source sends it again
    [task] = DBTaskResult.objects.filter(task_path=jobs.run_feed.module_path)
    assert task.status == "FAILED" and "JobFailed" in task.exception_class_path
    for text in (task.traceback, job.message, str(task.return_value)):
        assert "Amelia" not in text and "9434765919" not in text


def test_a_job_another_worker_is_running_is_left_to_it_not_failed(monkeypatch):
    from contactpoint.errors import FeedBusy

    def busy(*args, **kwargs):
        raise FeedBusy()  # a worker started with --no-recover holds the run (ingest.run.only_runner)

    monkeypatch.setattr(jobs, "ingest", busy)
    job = _send(_gp(), GP_ROW)
    run_jobs()
    job.refresh_from_db()
    assert job.status == FeedJob.Status.RUNNING and bytes(job.payload) != b""  # still the other worker's to finish


def test_the_same_file_sent_twice_is_one_run_and_the_second_job_says_so():
    gp = _gp()
    first, second = _send(gp, GP_ROW), _send(gp, GP_ROW)
    run_jobs()
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.repeat, second.repeat) == (False, True) and first.run_id == second.run_id
    assert FeedRun.objects.count() == 1 and Child.objects.count() == 1


def test_a_source_silent_for_longer_than_expected_raises_one_alert_until_it_sends_again():
    gp = _gp()
    gp.expected_every_hours = 24
    gp.save()
    now = timezone.now()
    feed(gp, GP_ROW, now=now - timedelta(hours=30))
    quiet = source("child-benefit", "child_benefit", health_org("CB-1", "Child Benefit"))  # no interval set

    assert jobs.silent_sources(now) == ["gp-camden"]
    assert jobs.silent_sources(now + timedelta(hours=1)) == ["gp-camden"]  # still silent: no second alert
    [alert] = AuditEntry.objects.filter(action="feed.source.silent")
    assert alert.severity == "alert" and alert.context["source"] == "gp-camden"
    assert alert.context["expected_every_hours"] == 24 and quiet.code not in str(alert.context)

    feed(gp, AMELIA | {"source_record_id": "GP-9"}, now=now + timedelta(hours=2))
    assert jobs.silent_sources(now + timedelta(hours=3)) == []


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_the_worker_command_runs_a_queued_feed_and_stops_when_asked_to_in_batch_mode():
    job = _send(_gp(), GP_ROW)
    out = io.StringIO()
    call_command("worker", "--batch", "--interval", "0", stdout=out)
    assert f"worker: {len(jobs.SCHEDULES)} schedules ({len(jobs.SCHEDULES)} queued now)" in out.getvalue()
    job.refresh_from_db()
    assert job.status == FeedJob.Status.COMPLETED and Child.objects.count() == 1


def test_the_operator_sets_how_often_a_source_should_send_and_the_status_page_and_metrics_show_it_silent(
        client, monkeypatch):
    gp = _gp()
    out = io.StringIO()
    call_command("users", "source-interval", "--source", "gp-camden", "--hours", "24", stdout=out)
    assert out.getvalue() == "gp-camden: expected every 24 hours\n"
    assert AuditEntry.objects.get(action="admin.source.interval_set").context == {
        "source": "gp-camden", "expected_every_hours": 24}
    SourceSystem.objects.filter(pk=gp.pk).update(created_at=timezone.now() - timedelta(days=2))

    operator = make_person("olu.ops", role="operator", org="CP-NATIONAL")
    sign_in(client, operator)
    page = client.get("/ops/status").content.decode()
    assert "Sources that have gone quiet" in page and "gp-camden: nothing since" in page
    _send(gp, GP_ROW)
    monkeypatch.setattr("contactpoint.config._settings",
                        dataclasses.replace(get_settings(), metrics_token="t" * 32))
    metrics = client.get("/metrics", HTTP_AUTHORIZATION="Bearer " + "t" * 32).content.decode()
    assert "contactpoint_sources_silent 1" in metrics and "contactpoint_feed_jobs_waiting 1" in metrics
    with pytest.raises(Exception, match="from 1 to"):
        call_command("users", "source-interval", "--source", "gp-camden", "--hours", "0")


def test_a_schedule_that_sets_its_own_signal_handlers_leaves_the_workers_in_place(monkeypatch):
    import signal

    def mine(signum, frame):  # the worker's: stop after the job in hand
        raise AssertionError("not called here")

    def monitor_like(*args, **kwargs):
        signal.signal(signal.SIGTERM, lambda *_: None)  # as `monitor run` does for its own loop

    before = signal.signal(signal.SIGTERM, mine)
    try:
        monkeypatch.setattr(jobs, "call_command", monitor_like)
        jobs.scheduled.call("checkpoint")
        assert signal.getsignal(signal.SIGTERM) is mine
    finally:
        signal.signal(signal.SIGTERM, before)
    [next_run] = _pending("checkpoint")
    assert next_run.run_after > timezone.now()


def test_a_worker_started_by_the_demo_server_stops_when_the_server_is_gone():
    import signal
    import subprocess
    import threading

    from contactpoint.ingest.management.commands.worker import _stop_when_gone

    server = subprocess.Popen(["sleep", "0.1"])
    server.wait()  # gone
    stopped = threading.Event()
    before = signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    try:
        _stop_when_gone(server.pid)
        assert stopped.wait(10), "the worker was not told to stop"
    finally:
        signal.signal(signal.SIGTERM, before)
