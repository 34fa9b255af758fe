"""The audit trail's monthly partitions on PostgreSQL (migration 0006): made a year ahead, listed with their
sizes, and an old month moved to another tablespace (cheaper storage) without touching what the chain hashes.

SQLite keeps the trail in one table: each function here says so and does nothing there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from django.db import connection

from contactpoint.errors import AuditError

MONTHS_AHEAD = 12
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_TABLESPACE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


@dataclass(frozen=True)
class Partition:
    name: str
    month: str  # YYYY-MM, or "default"
    entries: int  # the planner's estimate: counting a month of a national trail would read all of it
    bytes: int
    tablespace: str


def partitioned() -> bool:
    return connection.vendor == "postgresql"


def ensure(today: date, months_ahead: int = MONTHS_AHEAD) -> list[str]:
    """Make the partitions from this month to ``months_ahead`` months on that are missing; returns their names."""
    if not partitioned():
        return []
    made = []
    with connection.cursor() as cursor:
        for n in range(months_ahead + 1):
            months = today.year * 12 + today.month - 1 + n
            month = date(months // 12, months % 12 + 1, 1)
            cursor.execute("SELECT audit_partition(%s)", [month])
            name = cursor.fetchone()[0]
            if name:
                made.append(name)
    return made


def listing() -> list[Partition]:
    if not partitioned():
        return []
    with connection.cursor() as cursor:
        cursor.execute("""
            SELECT c.relname, greatest(c.reltuples, 0)::bigint, pg_total_relation_size(c.oid),
                   coalesce(t.spcname, 'pg_default')
            FROM pg_inherits AS i
            JOIN pg_class AS c ON c.oid = i.inhrelid
            LEFT JOIN pg_tablespace AS t ON t.oid = c.reltablespace
            WHERE i.inhparent = 'audit_entry'::regclass
            ORDER BY c.relname""")
        rows = cursor.fetchall()
    out = []
    for name, entries, size, space in rows:
        found = re.search(r"_y(\d{4})m(\d{2})$", name)
        out.append(Partition(name, f"{found[1]}-{found[2]}" if found else "default", entries, size, space))
    return out


def move(month: str, tablespace: str, *, today: date) -> str:
    """Move a past month's entries (the table and its indexes) to ``tablespace``. The rows are copied byte for
    byte, so the chain verifies as before. Returns the partition's name."""
    if not partitioned():
        raise AuditError("the audit trail is partitioned only on PostgreSQL")
    found = _MONTH.match(month)
    if not found or not 1 <= int(found[2]) <= 12:
        raise AuditError(f"{month!r} is not a month (YYYY-MM)")
    if not _TABLESPACE.match(tablespace):
        raise AuditError(f"{tablespace!r} is not a tablespace name")
    if (int(found[1]), int(found[2])) >= (today.year, today.month):
        raise AuditError("only a month that has ended can be moved: entries are still being written to this one")
    name = f"audit_entry_y{found[1]}m{found[2]}"
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)", [name])
        if cursor.fetchone()[0] is None:
            raise AuditError(f"there is no partition for {month}")
        cursor.execute("SELECT 1 FROM pg_tablespace WHERE spcname = %s", [tablespace])
        if cursor.fetchone() is None:
            raise AuditError(f"there is no tablespace {tablespace!r} (CREATE TABLESPACE first: docs/monitoring.md)")
        # Names checked above: they are identifiers, which a query cannot take as parameters.
        cursor.execute(f'ALTER TABLE "{name}" SET TABLESPACE "{tablespace}"')
        cursor.execute("SELECT indexrelid::regclass::text FROM pg_index WHERE indrelid = %s::regclass", [name])
        for (index,) in cursor.fetchall():
            cursor.execute(f'ALTER INDEX {connection.ops.quote_name(index)} SET TABLESPACE "{tablespace}"')
    return name
