"""Running the queued jobs (``contactpoint.ingest.jobs``) inside a test's transaction: as ``contactpoint worker``
does, one at a time through django_tasks_db's own worker, without its connection housekeeping (which would
close the test's connection, inside the transaction every test runs in). The command itself is tried in
tests/ingest/test_jobs.py, in a test of its own that commits."""

from __future__ import annotations

from django.db import transaction
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult


def run_jobs(*, limit: int = 100) -> int:
    """Run every job due now (and those they queue that are due now too). Returns how many ran."""
    worker = Worker(queue_names=["default"], interval=0, batch=True, backend_name="default", startup_delay=False,
                    max_tasks=None, worker_id="test-worker", excluded_queue_names=[])
    ran = 0
    while ran < limit:
        with transaction.atomic():
            result = DBTaskResult.objects.ready().get_locked()
            if result is None:
                return ran
            result.claim("test-worker")
        worker.run_task(result)
        ran += 1
    raise AssertionError(f"more than {limit} jobs: a job that queues itself at once?")
