"""Test set-up shared by every test.

`make test` runs the suite twice (scripts/run_tests.py): on SQLite, then the database tests on PostgreSQL.
Tests marked ``postgres`` run only where the database is PostgreSQL; everything else that touches no database
runs once. With ``CI_STRICT=1`` a skipped test fails the run: in CI nothing may be skipped.

Each pass runs in pytest-xdist workers (``-n``, one per CPU; ``--dist loadgroup``). A worker has its own test
database and its own var directory, and runs the tests it is given in the order set here. Tests that must not
run beside each other would share an ``@pytest.mark.xdist_group``, which puts them on one worker, all at the
place of the group's first test; none needs one today.
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

PASS = os.environ.get("CONTACTPOINT_TEST_PASS", "")
NO_POSTGRES_REASON = os.environ.get("CONTACTPOINT_NO_POSTGRES_REASON", "")
STRICT = os.environ.get("CI_STRICT") == "1"
# (pytest-django's autouse fixtures put django_db_blocker in every test's fixture names: not a sign of use)
DB_FIXTURES = {"db", "transactional_db", "live_server", "client", "admin_client"}
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")  # "gw0", "gw1", ... under pytest-xdist's -n; else ""


def _var_dir_of_its_own() -> None:
    """Under pytest-xdist each worker is a process of its own with a test database of its own (the database's
    name carries the process ID, and pytest-django adds the worker's name). The var directory would still be
    shared: the development key ring that get_keyring() creates there, the demo's logins and feeds. Each worker
    therefore works in a subdirectory named after it. Django's settings were read before this file was imported
    (pytest-django sets Django up first); only ContactPoint's own settings, read on first use, are read again."""
    if not WORKER:
        return
    from contactpoint import config

    os.environ["CONTACTPOINT_VAR_DIR"] = str(config.get_settings().var_dir / WORKER)
    config._settings = None


_var_dir_of_its_own()


def _uses_database(item: pytest.Item) -> bool:
    if item.get_closest_marker("django_db") or item.get_closest_marker("postgres"):
        return True
    return bool(DB_FIXTURES & set(getattr(item, "fixturenames", ())))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    keep, drop = [], []
    for item in items:
        postgres_only = item.get_closest_marker("postgres") is not None
        if PASS == "postgres" and (not _uses_database(item) or item.get_closest_marker("once") is not None):
            drop.append(item)  # already run in the SQLite pass (or what it proves is not the database's)
        elif PASS == "sqlite" and postgres_only and not NO_POSTGRES_REASON:
            drop.append(item)  # runs in the PostgreSQL pass
        else:
            keep.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
    _slow_tests_without_a_database_first(items)
    _serialized_rollback_first(items)


def _slow_tests_without_a_database_first(items: list[pytest.Item]) -> None:
    """pytest-django runs the tests that touch no database last. The slow ones among them (whole feeds through
    helper processes, Spark) would then be the last tests handed to pytest-xdist's workers, and one worker would
    work through them while the other waited. A test that cannot touch the database can run at any point, so
    these run first."""
    def slow_without_database(item: pytest.Item) -> bool:
        return item.get_closest_marker("slow") is not None and not _touches_the_database(item)

    items.sort(key=lambda item: not slow_without_database(item))  # stable: every other test keeps its place


def _touches_the_database(item: pytest.Item) -> bool:
    """As pytest-django decides it: a django_db mark, a database fixture, or a Django test case class."""
    from django.test import TransactionTestCase

    cls = getattr(item, "cls", None)
    if item.get_closest_marker("django_db") or (cls is not None and issubclass(cls, TransactionTestCase)):
        return True
    return bool({"db", "transactional_db", "live_server"} & set(getattr(item, "fixturenames", ())))


def _serialized_rollback_first(items: list[pytest.Item]) -> None:
    """A ``serialized_rollback`` test restores the database from a snapshot, which clashes with the content types
    that a plain transactional test's closing flush re-creates (under new IDs). Such tests therefore run before
    the other transactional tests, keeping every other test where it was. (Under pytest-xdist each worker has a
    database of its own and runs what it is given in this order, so the rule holds in each worker.)"""
    def marker(item: pytest.Item):
        return item.get_closest_marker("django_db")

    def transactional(item: pytest.Item) -> bool:
        m = marker(item)
        return m is not None and bool(m.kwargs.get("transaction") or m.args[:1] == (True,))

    def order(item: pytest.Item) -> tuple[bool, bool]:
        # serialized_rollback first; then the slow ones, so that none is left to the end of a pytest-xdist run
        return not marker(item).kwargs.get("serialized_rollback"), item.get_closest_marker("slow") is None

    positions = [i for i, item in enumerate(items) if transactional(item)]
    group = sorted((items[i] for i in positions), key=order)
    for i, item in zip(positions, group, strict=True):
        items[i] = item


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("postgres") and "postgresql" not in os.environ.get("DATABASE_URL", "") \
            and not os.environ.get("DATABASE_URL", "").startswith("postgres://"):
        pytest.skip(f"needs PostgreSQL: {NO_POSTGRES_REASON or 'DATABASE_URL is not a PostgreSQL URL'}")


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    skipped = terminalreporter.stats.get("skipped", [])
    if STRICT and skipped:
        terminalreporter.write_line(f"CI_STRICT=1: {len(skipped)} test(s) were skipped; nothing may be skipped in CI",
                                    red=True)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if STRICT and reporter is not None and reporter.stats.get("skipped") and session.exitstatus == 0:
        session.exitstatus = 1


def _flush_past_append_only_trigger() -> None:
    """Transactional tests end with a TRUNCATE of every table, which the audit trail's append-only trigger
    refuses (as it should in production). In tests, the database superuser disables triggers for the flush."""
    from django.db.backends.postgresql.operations import DatabaseOperations

    original = DatabaseOperations.execute_sql_flush

    def execute_sql_flush(self, sql_list):
        with self.connection.cursor() as cursor:
            cursor.execute("SET session_replication_role = replica")
        try:
            original(self, sql_list)
        finally:
            with self.connection.cursor() as cursor:
                cursor.execute("SET session_replication_role = DEFAULT")

    DatabaseOperations.execute_sql_flush = execute_sql_flush


_flush_past_append_only_trigger()


def _commits_do_not_wait_for_the_disk() -> None:
    """A test database is thrown away at the end of the run, so its commits need not wait until they are on
    disk. The audit trail commits entry by entry (as in production), and transactional tests commit every
    save: on PostgreSQL each commit would otherwise wait for its WAL flush. Every connection the test process
    opens (the live server's threads' too) is set up so; the server's own settings are left alone."""
    from django.db.backends.signals import connection_created

    def no_waiting(sender, connection, **kwargs) -> None:
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET synchronous_commit = off")

    connection_created.connect(no_waiting, weak=False, dispatch_uid="contactpoint-tests-no-waiting")


_commits_do_not_wait_for_the_disk()


@pytest.fixture(autouse=True, scope="session")
def _fast_password_hashing() -> None:
    from django.conf import settings
    from django.contrib.auth import hashers

    settings.PASSWORD_HASHERS = ["tests.hashers.FastArgon2PasswordHasher"]
    hashers.get_hashers.cache_clear()
    hashers.get_hashers_by_algorithm.cache_clear()


@pytest.fixture(autouse=True)
def _forget_cached_audit_keys():
    """Each test's database changes are rolled back; keys cached from them must go too."""
    yield
    from contactpoint.audit.trail import forget_detail_keys

    forget_detail_keys()


@pytest.fixture(autouse=True)
def _reference_data_after_flush(request):
    """Transactional tests end by flushing every table, which takes the reference organisations and the first
    policy (a data migration) with it; whichever transactional test runs next would find no local authorities.
    They are loaded again, when missing, before each transactional test."""
    marker = request.node.get_closest_marker("django_db")
    transactional = (marker is not None and (marker.kwargs.get("transaction") or (marker.args and marker.args[0]))) \
        or "live_server" in request.fixturenames or "transactional_db" in request.fixturenames
    if transactional:
        request.getfixturevalue("transactional_db")
        from importlib import import_module

        from django.apps import apps
        from django.db import connection

        from contactpoint.access.models import Organisation

        if not Organisation.objects.exists():
            seed = import_module("contactpoint.access.migrations.0002_reference_organisations")
            seed.load(apps, type("Editor", (), {"connection": connection})())
    yield


@pytest.fixture
def keyring(tmp_path: Path):
    """A key ring of the test's own (domain functions take the key ring as an argument)."""
    from contactpoint.vault.keyring import FileKeyRing, create_keyring_file

    path = tmp_path / "keyring.json"
    create_keyring_file(path)
    return FileKeyRing(path)


@pytest.fixture
def ring(tmp_path: Path, monkeypatch):
    """A key ring of the test's own, made the process's key ring (``get_keyring``), for the pages, commands and
    domain functions that find it themselves."""
    import dataclasses

    from contactpoint import config
    from contactpoint.vault.keyring import forget_keyrings, get_keyring

    monkeypatch.setattr(config, "_settings", dataclasses.replace(config.get_settings(),
                                                                 keyring_path=tmp_path / "keyring.json"))
    forget_keyrings()
    yield get_keyring()
    forget_keyrings()


@pytest.fixture
def now() -> datetime:
    return datetime(2026, 11, 24, 10, 30, tzinfo=UTC)


@pytest.fixture
def today() -> date:
    return date(2026, 11, 24)
