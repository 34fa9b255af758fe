"""The ``contactpoint`` command itself (issue 18): its help lists ContactPoint's commands, not Django's, and a
monitoring pass says what it read once."""

from __future__ import annotations

import logging

import pytest
from django.core.management import call_command

from contactpoint.cli import main


@pytest.mark.parametrize("argv", [[], ["help"], ["--help"], ["-h"]])
def test_help_lists_contactpoints_commands_and_not_djangos_own(argv, capsys):
    main(argv)
    out = capsys.readouterr().out
    listed = {line.split()[0] for line in out.splitlines() if line.startswith("  ")}
    assert {"demo", "serve", "ingest", "match", "review", "lifecycle", "audit", "keys", "users", "monitor",
            "worker", "export-links", "migrate", "create-child", "amend", "held"} <= listed
    assert not listed & {"flush", "dbshell", "shell", "sqlflush", "squashmigrations", "runserver", "startapp",
                         "export_links", "create_child"}
    assert max(len(line) for line in out.splitlines()) <= 100


@pytest.mark.django_db(transaction=True)  # the pass closes its connection when done
def test_a_single_monitor_pass_prints_what_it_read_once(capsys, caplog):
    from django.utils import timezone

    from contactpoint.audit.actions import AuditAction
    from contactpoint.audit.trail import Actor, record_event
    from contactpoint.vault.keyring import get_keyring

    record_event(AuditAction.LOGIN_FAILED, actor=Actor("someone"), keyring=get_keyring(), at=timezone.now())
    with caplog.at_level(logging.INFO, logger="contactpoint"):
        call_command("monitor", "run", "--once", "--no-health")
    out = capsys.readouterr().out
    said = out.count("monitor read") + sum("monitor read" in r.getMessage() for r in caplog.records)
    assert said == 1 and "monitor read" in out
