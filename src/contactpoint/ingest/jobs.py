"""Work done by ``contactpoint worker``, not by a web request: feeds sent over the API, and the service's schedules.

Django's tasks framework with its database backend (``django_tasks_db``) is the queue: a task is a row in the
service's own database, written in the same transaction as what it is about, and ``contactpoint worker`` runs
them (``db_worker``). So a feed sent over HTTP is stored and answered at once (``submit``: 202 and a job to poll);
a worker runs it with ``ingest`` exactly as ``contactpoint ingest`` would.

- **A feed job** (``run_feed``) opens the sealed file, runs it, and empties it. A worker killed part-way leaves
  the job running: ``recover`` (when a worker starts) puts it back in the queue, and the run resumes at its
  first uncommitted batch (``ingest.run``).
- **Schedules** (``SCHEDULES``): the monitor's pass over new audit entries every minute (verifying the newest
  entries hourly), a signed checkpoint of the audit trail every hour, the full walk of the trail daily in slices
  of 20 seconds, the trail's partitions for the year ahead and the lifecycle run daily, the term frequencies
  monthly, and the check for silent sources hourly. Each runs the command an operator would run by hand
  (``call_command``) and queues its own next run; ``queue_schedules`` queues any that is missing.
- **Silent sources** (``silent_sources``): a source expected to send every N hours that has sent nothing for
  that long gets one alert entry in the audit trail (``feed.source.silent``, severity alert) per silence, and is
  listed on the operator's status page and in ``/metrics``.

What the queue holds in clear: a job's ID, the name of a schedule, times. A task that fails stores its
traceback in the queue's table, so every task here catches what escapes it and fails with words of its own,
without the original message (which could quote a value).
"""

from __future__ import annotations

import io
import signal
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

from django.core.management import call_command
from django.db import transaction
from django.db.models import Max, QuerySet

try:
    from django.tasks import task
except ImportError:  # Django 5.2 (on Python 3.11): the framework comes from the django-tasks backport
    from django_tasks import task  # type: ignore[no-redef]
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from contactpoint import correlation
from contactpoint.access.models import SourceSystem
from contactpoint.access.sources import source_actor
from contactpoint.audit.actions import AuditAction, Severity
from contactpoint.audit.models import AuditEntry
from contactpoint.audit.trail import Actor, record_event
from contactpoint.errors import FeedBusy, FeedRejected, JobFailed, NotFound
from contactpoint.feeds.models import FeedJob, FeedRun
from contactpoint.ingest.run import ingest
from contactpoint.vault.cipher import ChildCipher
from contactpoint.vault.keyring import KeyRing, get_keyring

ACTOR = Actor.system("worker")
_FIELD = "feed-file"


def _cipher(keyring: KeyRing, job_id: uuid.UUID) -> ChildCipher:
    """The job's own key: derived from the key ring's index root and the job's ID (nothing to store or rotate)."""
    return ChildCipher(f"feed-job:{job_id}", keyring.index_key(f"feed-job:{job_id}"))


# --- feeds sent over the API -----------------------------------------------------------------------------------


def submit(source: SourceSystem, data: bytes, *, fmt: str, mode: str, keyring: KeyRing, now: datetime) -> FeedJob:
    """Keep the file, sealed, and queue its run, in one transaction: the job exists if and only if it is queued."""
    job_id = uuid.uuid4()
    with transaction.atomic():
        job = FeedJob.objects.create(id=job_id, source=source, format=fmt, mode=mode, size=len(data),
                                     received_at=now, payload=_cipher(keyring, job_id).seal(_FIELD, data))
        run_feed.enqueue(str(job_id))
        record_event(AuditAction.FEED_QUEUED, actor=source_actor(source), keyring=keyring, at=now,
                     context={"job": str(job_id), "bytes": len(data), "format": fmt, "mode": mode})
    return job


@task()
def run_feed(job_id: str) -> str:
    """Run a queued feed job (in ``contactpoint worker``). Returns the job's status. Its audit entries carry
    ``job:<the job's id>``, the id the source was given when it sent the file."""
    with correlation.scope(f"job:{job_id}"):
        return _run_feed(job_id)


def _run_feed(job_id: str) -> str:
    keyring, now = get_keyring(), timezone.now()
    with transaction.atomic():
        job = FeedJob.objects.select_for_update().select_related("source").filter(pk=job_id).first()
        if job is None or job.status in (FeedJob.Status.COMPLETED, FeedJob.Status.FAILED):
            return job.status if job is not None else "gone"
        job.status, job.started_at = FeedJob.Status.RUNNING, now
        job.save(update_fields=["status", "started_at"])
    try:
        data = _cipher(keyring, job.id).open(_FIELD, bytes(job.payload))
        outcome = ingest(job.source, data, fmt=job.format, mode=job.mode, keyring=keyring, now=now)
    except FeedBusy:  # another worker is running it (one started with --no-recover, say): it finishes the job
        return job.status
    except FeedRejected as refused:  # refused whole: the reason is in words of our own
        _finish(job, FeedJob.Status.FAILED, str(refused))
        return job.status
    except Exception:  # noqa: BLE001  (whatever it was, its message may quote a value: it is not kept)
        _finish(job, FeedJob.Status.FAILED, "The run stopped part-way. Everything up to the last whole batch is "
                                            "kept; send the same file again and it resumes there.")
        raise JobFailed(f"feed job {job.id} stopped part-way") from None
    run = outcome.run
    job.run, job.repeat = run, outcome.already_done
    if run.status == FeedRun.Status.REJECTED:
        _finish(job, FeedJob.Status.FAILED, run.message or "This file was refused before.")
    else:
        _finish(job, FeedJob.Status.COMPLETED, "")
    return job.status


def _finish(job: FeedJob, status: str, message: str) -> None:
    job.status, job.message, job.finished_at, job.payload = status, message, timezone.now(), b""
    job.save(update_fields=["status", "message", "finished_at", "payload", "run", "repeat"])


def job_of(source: SourceSystem, job_id: str) -> FeedJob:
    """A source's own job; another source's, or none, is not found (a job ID says nothing to anyone else)."""
    try:
        found = FeedJob.objects.select_related("run").filter(pk=uuid.UUID(job_id), source=source).first()
    except ValueError:
        found = None
    if found is None:
        raise NotFound("There is no feed job with that ID for your source system.")
    return found


# --- schedules -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Schedule:
    name: str
    command: tuple[str, ...] | None  # what an operator would type after ``contactpoint``; or ``function``
    every: timedelta | None = None  # from the end of the last run
    daily_at: time | None = None  # UTC
    function: Callable[[datetime], Any] | None = None

    def next_run(self, after: datetime) -> datetime:
        if self.every is not None:
            return after + self.every
        assert self.daily_at is not None
        at = datetime.combine(after.date(), self.daily_at, tzinfo=UTC)
        return at if at > after else at + timedelta(days=1)


def _silent(source: SourceSystem, last: datetime | None, now: datetime) -> bool:
    """An active source expected every N hours that has sent nothing (since it was registered) for longer."""
    return (source.active and source.expected_every_hours is not None
            and now - (last or source.created_at) > timedelta(hours=source.expected_every_hours))


def overdue(now: datetime) -> list[tuple[SourceSystem, datetime]]:
    """Active sources expected to send every N hours that have sent nothing for longer, with when they last sent
    (or were registered)."""
    out: list[tuple[SourceSystem, datetime]] = []
    for source in SourceSystem.objects.filter(active=True, expected_every_hours__isnull=False).annotate(
            last=Max("feed_runs__received_at")).order_by("code"):
        if _silent(source, source.last, now):
            out.append((source, source.last or source.created_at))
    return out


@dataclass(frozen=True)
class SourceFeed:
    """A source system and its last feed, as an administrator's home page shows it."""

    source: SourceSystem
    last: datetime | None  # when it last sent a feed (None: never)
    overdue: bool  # expected every N hours, and silent for longer (as ``overdue`` judges it)


def last_feeds(sources: QuerySet[SourceSystem], now: datetime) -> list[SourceFeed]:
    """Each of ``sources`` with its last feed and whether it is overdue, by the rule of ``overdue``."""
    out = []
    for source in sources.annotate(last=Max("feed_runs__received_at")).order_by("name", "code"):
        out.append(SourceFeed(source, source.last, _silent(source, source.last, now)))
    return out


def silent_sources(now: datetime) -> list[str]:
    """The ``overdue`` sources: one alert entry each per silence (not repeated while it lasts). Returns their
    codes."""
    silent = []
    keyring = get_keyring()
    for source, since in overdue(now):
        silent.append(source.code)
        if not _alerted_since(source.code, since):
            record_event(AuditAction.SOURCE_SILENT, actor=ACTOR, keyring=keyring, at=now, severity=Severity.ALERT,
                         context={"source": source.code, "expected_every_hours": source.expected_every_hours,
                                  "last_feed": since.isoformat(timespec="minutes")})
    return silent


def _alerted_since(code: str, since: datetime) -> bool:
    return AuditEntry.objects.filter(action=AuditAction.SOURCE_SILENT.value, at__gte=since,
                                     context__source=code).exists()


SCHEDULES = (
    Schedule("monitor", ("monitor", "run", "--once"), every=timedelta(minutes=1)),
    Schedule("checkpoint", ("audit", "checkpoint"), every=timedelta(hours=1)),
    # The full walk of the trail, a slice a minute while one is due (daily), so the monitor runs between slices;
    # the monitor itself verifies the newest entries hourly.
    Schedule("verify-full", ("audit", "verify", "--step"), every=timedelta(minutes=1)),
    Schedule("partitions", ("audit", "partitions", "--ensure"), daily_at=time(1, 0)),
    Schedule("lifecycle", ("lifecycle", "run"), daily_at=time(3, 0)),
    Schedule("frequencies", ("match", "frequencies"), every=timedelta(days=30)),
    Schedule("silent-sources", None, every=timedelta(hours=1), function=silent_sources),
)
BY_NAME = {s.name: s for s in SCHEDULES}
_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)  # the worker's own: stop after the job in hand


@task()
def scheduled(name: str) -> str:
    """Run one schedule, then queue its next run (whatever happened: a failed run is tried again next time)."""
    schedule = BY_NAME[name]
    # A command may set its own handlers for Ctrl-C and SIGTERM (``monitor run`` does, to stop its loop): the
    # worker's must be back afterwards, or it could no longer be stopped.
    handlers = {sig: signal.getsignal(sig) for sig in _STOP_SIGNALS}
    try:
        with correlation.scope(correlation.new_id(f"schedule-{name}")):
            if schedule.function is not None:
                schedule.function(timezone.now())
            else:
                assert schedule.command is not None
                call_command(*schedule.command, stdout=io.StringIO(), stderr=io.StringIO())
    except Exception:  # noqa: BLE001  (its message is not kept: see the module's note)
        raise JobFailed(f"the scheduled {name} failed; it runs again at its next time") from None
    finally:
        if threading.current_thread() is threading.main_thread():
            for sig, handler in handlers.items():
                signal.signal(sig, handler)
        scheduled.using(run_after=schedule.next_run(timezone.now())).enqueue(name)
    return "done"


def _pending(task_path: str) -> list[DBTaskResult]:
    return list(DBTaskResult.objects.filter(task_path=task_path, status__in=("READY", "RUNNING")))


def queue_schedules() -> int:
    """Queue each schedule that has no run pending (when a worker starts). Returns how many were queued."""
    waiting = {r.args_kwargs.get("args", [None])[0] for r in _pending(scheduled.module_path)}
    missing = [s.name for s in SCHEDULES if s.name not in waiting]
    for name in missing:
        scheduled.enqueue(name)
    return len(missing)


def recover(now: datetime) -> int:
    """Put back in the queue the feed jobs a killed worker left running (their runs resume where they stopped)
    and the schedules it was running. Returns how many feed jobs were queued again.

    One worker does this, at its start (``contactpoint worker``; others are started with ``--no-recover``): the
    tasks it finds running were left by a worker that is gone."""
    DBTaskResult.objects.filter(status="RUNNING", task_path__in=(scheduled.module_path, run_feed.module_path),
                                started_at__lt=now).update(status="FAILED", finished_at=now)
    feed_tasks = {r.args_kwargs.get("args", [None])[0] for r in _pending(run_feed.module_path)}
    resumed = 0
    for job in FeedJob.objects.filter(status__in=(FeedJob.Status.QUEUED, FeedJob.Status.RUNNING)):
        if str(job.id) not in feed_tasks:
            FeedJob.objects.filter(pk=job.pk).update(status=FeedJob.Status.QUEUED)
            run_feed.enqueue(str(job.id))
            resumed += 1
    return resumed
