"""No child's personal data in clear: load the canary child through the real write path, then search the raw
database (the SQLite file and its write-ahead log, or a pg_dump of PostgreSQL) for any form of its details."""

from __future__ import annotations

import glob
import shutil
import subprocess
from pathlib import Path

import pytest
from django.db import connection

from tests.canary import CANARY, leaks_in
from tests.pipeline import load_canary

pytestmark = pytest.mark.django_db(transaction=True)


def _sqlite_bytes() -> bytes:
    name = Path(connection.settings_dict["NAME"])
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA wal_checkpoint(FULL)")
    return b"".join(Path(p).read_bytes() for p in glob.glob(f"{name}*"))


def _pg_dump() -> bytes:
    binary = shutil.which("pg_dump") or (sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_dump")) or [None])[-1]
    if binary is None:
        pytest.fail("pg_dump is needed to inspect the PostgreSQL database")
    s = connection.settings_dict
    cmd = [binary, "--no-owner", "-h", s["HOST"] or "127.0.0.1", "-p", str(s["PORT"] or 5432), "-U", s["USER"],
           s["NAME"]]
    env = {"PGPASSWORD": s["PASSWORD"] or ""}
    return subprocess.run(cmd, check=True, capture_output=True, env=env).stdout


def test_the_canary_childs_details_are_nowhere_in_the_database(caplog, capsys):
    load_canary()
    raw = _sqlite_bytes() if connection.vendor == "sqlite" else _pg_dump()
    assert len(raw) > 10_000  # we really are looking at the database
    assert leaks_in(raw) == []
    logged = "\n".join(r.getMessage() for r in caplog.records).encode()
    printed = "".join(capsys.readouterr()).encode()
    assert leaks_in(logged) == [] and leaks_in(printed) == []


def test_the_database_scan_would_notice_a_leak():
    from contactpoint.access.models import Organisation

    Organisation.objects.create(code="LEAK", name=f"The {CANARY['family']} Academy")  # in clear, on purpose
    raw = _sqlite_bytes() if connection.vendor == "sqlite" else _pg_dump()
    assert leaks_in(raw) == ["family"]


def test_the_canary_check_would_notice_a_leak():
    assert set(leaks_in(f"{CANARY['family'].upper()} {CANARY['date_of_birth']:%d/%m/%Y}".encode())) == {
        "family", "date_of_birth"}
