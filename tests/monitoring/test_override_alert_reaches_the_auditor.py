"""Issue 18, finding 7: after an override that says "auditors have been alerted", the auditor sees the alert once
the worker's monitor schedule has run (the demo serves with the worker: `serve --with-worker`), and the alert page
shows no "checkpoints have stopped" warning once the worker's checkpoint schedule has run."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command

from contactpoint.ingest import jobs
from tests.factories import make_person, make_record, sign_in
from tests.search.test_service import add

# The monitor's pass closes its database connection when done, as a long-running process's should.
pytestmark = pytest.mark.django_db(transaction=True)


def test_the_worker_runs_the_monitor_every_minute_and_signs_checkpoints_hourly():
    schedules = {s.name: s for s in jobs.SCHEDULES}
    assert schedules["monitor"].command == ("monitor", "run", "--once")
    assert schedules["monitor"].every <= timedelta(minutes=1)
    assert schedules["checkpoint"].command == ("audit", "checkpoint")
    assert schedules["checkpoint"].every <= timedelta(hours=1)


def test_an_override_is_an_alert_on_the_auditors_page_once_the_monitor_has_run(client):
    [cpid] = add(make_record(), shielded=True)
    sign_in(client, make_person())
    assert client.post(f"/children/{cpid}", {"reason": "child_protection"}).status_code == 302
    client.get(f"/children/{cpid}")
    assert client.post(f"/children/{cpid}/override").status_code == 302
    assert "Auditors have been alerted" in client.get(f"/children/{cpid}").content.decode()
    client.logout()

    sign_in(client, make_person("la.auditor", role="auditor", org="LA-202"))
    before = client.get("/audit").content.decode()
    assert "Checkpoints have stopped" in before  # nothing has signed the trail yet
    for schedule in ("monitor", "checkpoint"):  # what the worker runs, as it runs it
        call_command(*jobs.BY_NAME[schedule].command)
    after = client.get("/audit").content.decode()
    assert "Overrode shielding on a record" in after and "sam.social" in after
    assert "Checkpoints have stopped" not in after
