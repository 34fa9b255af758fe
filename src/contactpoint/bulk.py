"""Reading and writing thousands of rows at once: the feed pipeline's database fast paths.

A batch of a feed touches tens of thousands of rows. Written the ordinary way (an ``IN`` list of every ID, a
multi-row ``INSERT`` with one placeholder per value) the statements grow with the batch, and on PostgreSQL the
time goes into building, sending and parsing them rather than into the work. So on PostgreSQL:

- a list of IDs is one array parameter (``= ANY(%s)``), whatever its length;
- new rows go in by binary ``COPY``, the server's bulk loading path;
- many rows are updated by one ``UPDATE`` from a temporary table filled by ``COPY``.

SQLite (the demo, the tests) keeps plain ``IN`` lists in chunks under its parameter limit and ``executemany``,
which are fast there: it runs in process. Queries go through Django's cursors (its query log and execute
wrappers see them); only ``COPY``, which Django's cursors cannot run, goes past them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from django.core.exceptions import EmptyResultSet
from django.db import connection, transaction
from django.db.models import F, Lookup

SQLITE_CHUNK = 900  # under SQLite's limit on parameters in one statement, whatever the version


@contextmanager
def _copying() -> Iterator[Any]:
    """A psycopg cursor on Django's own PostgreSQL connection (so inside its transaction), for ``COPY``; its
    errors are translated to Django's (a unique violation is an ``IntegrityError``, as callers expect)."""

    connection.ensure_connection()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        yield cursor


def _array(values: Sequence[Any]) -> tuple[str, Any]:
    """An array parameter. A list of integers (IDs, tokens: the long lists) is written as PostgreSQL's array
    text by one join, which is safe for integers and a hundred times quicker than adapting each element."""
    if all(type(v) is int for v in values):
        return "%s::bigint[]", "{" + ",".join(map(str, values)) + "}"
    return "%s", list(values)


def chunks(values: Sequence[Any]) -> Iterator[Sequence[Any]]:
    """``values`` in as few pieces as the database needs: one on PostgreSQL, parameter-sized ones on SQLite."""
    size = len(values) if connection.vendor == "postgresql" else SQLITE_CHUNK
    for start in range(0, len(values), max(size, 1)):
        yield values[start:start + size]


class AnyOf(Lookup):
    """``field`` is one of ``values``: one array parameter on PostgreSQL, an ``IN`` list elsewhere. Made by
    ``any_of``, one per chunk."""

    prepare_rhs = False

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        if not self.rhs:
            raise EmptyResultSet
        field = self.lhs.output_field
        values = [field.get_db_prep_value(v, connection, prepared=False) for v in self.rhs]
        if connection.vendor == "postgresql":
            placeholder, param = _array(values)
            return f"{lhs} = ANY({placeholder})", [*lhs_params, param]
        return f"{lhs} IN ({', '.join(['%s'] * len(values))})", [*lhs_params, *values]


def any_of(field: str, values: Sequence[Any]) -> Iterator[AnyOf]:
    """One ``AnyOf`` per chunk of ``values``: ``for q in any_of("child_id", ids): ...filter(q)``."""
    for chunk in chunks(values):
        yield AnyOf(F(field), list(chunk))


def select_any(sql: str, values: Sequence[Any], params: Sequence[Any] = ()) -> list[tuple]:
    """Rows of ``sql``, whose ``{any}`` stands for "is one of ``values``" (after ``params``), e.g.
    ``SELECT token, child_id FROM vault_index WHERE token {any}``."""
    if not values:
        return []
    out: list[tuple] = []
    with connection.cursor() as cursor:
        for chunk in chunks(values):
            if connection.vendor == "postgresql":
                placeholder, param = _array(chunk)
                cursor.execute(sql.format(any=f"= ANY({placeholder})"), [*params, param])
            else:
                cursor.execute(sql.format(any=f"IN ({', '.join(['%s'] * len(chunk))})"), [*params, *chunk])
            out.extend(cursor.fetchall())
    return out


_TYPES: dict[tuple[str, tuple[str, ...]], list[int]] = {}  # (table, columns) -> type OIDs


def _column_types(cursor, table: str, columns: Sequence[str]) -> list[int]:
    """The type OIDs of ``columns`` of ``table``, which a binary COPY must be told."""
    key = (table, tuple(columns))
    if key not in _TYPES:
        cursor.execute("SELECT attname, atttypid FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0",
                       [table])
        found = dict(cursor.fetchall())
        _TYPES[key] = [found[c] for c in columns]
    return _TYPES[key]


def _copy_in(cursor, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]], *,
             types_of: str | None = None) -> None:
    """Binary ``COPY``: values go as the server stores them (a ciphertext is not escaped to text and back)."""
    types = _column_types(cursor, types_of or table, columns)
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types(types)
        for row in rows:
            copy.write_row(row)


def insert(table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Add rows to ``table``: ``COPY`` on PostgreSQL, ``executemany`` elsewhere. Values as the database driver
    takes them (bytes, dates, ints, strings). Inside the caller's transaction."""
    if connection.vendor == "postgresql":
        with _copying() as cursor:
            _copy_in(cursor, table, columns, rows)
        return
    with connection.cursor() as cursor:
        cursor.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))})",
                           list(rows))


def reserve_ids(table: str, count: int) -> list[int]:
    """``count`` IDs for new rows of ``table`` (its ``id`` column), for the caller to write in the same
    transaction with ``insert`` and refer to without reading them back. PostgreSQL: from the column's sequence,
    never given twice. SQLite: past the highest ever given (its autoincrement's record); they are the caller's
    because its transaction holds the database's only write lock until it has written them."""
    if count <= 0:
        return []
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                           [table, count])
            return [n for (n,) in cursor.fetchall()]
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")
        highest = cursor.fetchone()[0]
        cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
        given = cursor.fetchone()
        first = max(highest, given[0] if given else 0) + 1
    return list(range(first, first + count))


def update(table: str, key: str, columns: Sequence[str], rows: Sequence[Sequence[Any]], *, extra: str = "",
           extra_params: Sequence[Any] = ()) -> None:
    """Set ``columns`` of many rows, each row being (key value, *column values). ``extra`` adds assignments
    shared by every row (``"updated_at = %s"``). On PostgreSQL the rows are copied into a temporary table and
    applied by one ``UPDATE``."""
    if not rows:
        return
    if connection.vendor == "postgresql":
        names = [key, *columns]
        sets = [f"{name} = v.{name}" for name in columns] + ([extra] if extra else [])
        staging = f"bulk_{table}"
        # In a savepoint, so that a failure also takes the staging table away, even outside a transaction.
        with transaction.atomic(), _copying() as cursor:
            cursor.execute(f"CREATE TEMPORARY TABLE {staging} AS SELECT {', '.join(names)} FROM {table} WITH NO DATA")
            _copy_in(cursor, staging, names, rows, types_of=table)
            cursor.execute(f"UPDATE {table} AS t SET {', '.join(sets)} FROM {staging} AS v WHERE t.{key} = v.{key}",
                           extra_params)
            cursor.execute(f"DROP TABLE {staging}")
        return
    plain = [f"{name} = %s" for name in columns] + ([extra] if extra else [])
    with connection.cursor() as cursor:
        cursor.executemany(f"UPDATE {table} SET {', '.join(plain)} WHERE {key} = %s",
                           [(*row[1:], *extra_params, row[0]) for row in rows])


def delete(table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Delete the rows whose ``columns`` have the values of one of ``rows`` (a composite key)."""
    if not rows:
        return
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            arrays = [_array(list(column)) for column in zip(*rows, strict=True)]
            cursor.execute(f"DELETE FROM {table} WHERE ({', '.join(columns)}) IN "
                           f"(SELECT * FROM unnest({', '.join(p for p, _ in arrays)}))", [v for _, v in arrays])
        else:
            cursor.executemany(f"DELETE FROM {table} WHERE {' AND '.join(f'{c} = %s' for c in columns)}", rows)
