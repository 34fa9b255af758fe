"""A first load into an empty blind index: its keys built once, after the rows are in.

A first national load writes about 30 index tokens a child: 330 million rows for England. Put into
``vault_index``'s primary key one at a time, each insert walks a b-tree that soon outgrows memory (measured: a
batch of 5,000 children took 2.9 s to write at 100,000 records and 4.1 s at a million, the growth being that).
Built once at the end, the key is one sort. So on PostgreSQL, while an empty index is loaded, its primary key,
other indexes and foreign key are set aside (``set_aside``: the statements that make them again are returned, to
be kept with the load, in the same transaction as the drop), and made again when the rows are in
(``rebuild``). Nothing reads the index meanwhile: it held no one when the load began, and the load refuses an
index that holds anyone. SQLite (development) keeps its keys throughout.

The same holds for another empty table the load fills whose key or index takes a random value a row: the source
records' unique key (a keyed hash), a child's ContactPoint ID, and the index and foreign key by child of the
source records, data keys and discrepancies (a child's number is its random ContactPoint ID). ``set_aside`` takes
the table and, if not all of them, the keys and indexes to set aside by name or by column.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connection

TABLE = "vault_index"


def set_aside(table: str = TABLE, *, only: frozenset[str] | None = None, on: str | None = None) -> list[str]:
    """Drop the empty ``table``'s keys and indexes (``only`` those named, or ``on`` one column only, if given);
    return the statements that make them again, in the order to run them. [] on SQLite, or if the table is not
    empty."""
    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {table})")
        if cursor.fetchone()[0]:
            return []
        # With the columns each key and index is on: Django names a foreign key's index and constraint with a hash.
        # The primary key first when made again (the other indexes and the foreign key are built after it).
        cursor.execute("SELECT conname, contype, pg_get_constraintdef(oid), "
                       "ARRAY(SELECT attname::text FROM pg_attribute "
                       "WHERE attrelid = conrelid AND attnum = ANY(conkey)) FROM pg_constraint "
                       "WHERE conrelid = %s::regclass ORDER BY contype = 'p' DESC, conname", [table])
        constraints = [c[:3] for c in cursor.fetchall() if _chosen(c[0], c[3], only, on)]
        cursor.execute("SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid), "
                       "ARRAY(SELECT attname::text FROM pg_attribute WHERE attrelid = i.indrelid "
                       "AND attnum = ANY(i.indkey::int2[])) FROM pg_index AS i "
                       "WHERE i.indrelid = %s::regclass AND NOT EXISTS "
                       "(SELECT 1 FROM pg_constraint AS c WHERE c.conindid = i.indexrelid) ORDER BY 1", [table])
        indexes = [i[:2] for i in cursor.fetchall() if _chosen(i[0], i[2], only, on)]
        quote = connection.ops.quote_name
        # Checks the transaction deferred (foreign keys) are made now: a table with checks pending cannot be altered.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        again = [f"ALTER TABLE {table} ADD CONSTRAINT {quote(name)} {definition}"
                 for name, kind, definition in constraints if kind == "p"]
        again += [definition for _, definition in indexes]
        again += [f"ALTER TABLE {table} ADD CONSTRAINT {quote(name)} {definition}"
                  for name, kind, definition in constraints if kind != "p"]
        for name, _, _ in constraints:
            cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {quote(name)}")
        for name, _ in indexes:
            cursor.execute(f"DROP INDEX {name}")  # as regclass::text gives it: quoted where it must be
    return again


def _chosen(name: str, columns: list[str], only: frozenset[str] | None, on: str | None) -> bool:
    return (only is None or name in only) and (on is None or columns == [on])


def rebuild(statements: Sequence[str]) -> None:
    """Make again what ``set_aside`` set aside (in the caller's transaction). A sort of every token once."""
    if not statements:
        return
    with connection.cursor() as cursor:
        # The keys' sorts (maintenance_work_mem) and the foreign key's check, a join of every token's child to the
        # children (work_mem, 4 MB by default), in memory as far as they fit: with 512 MB and the default, making
        # the keys took 6 s at a million records and 32 s at three (x5.1), the sorts and the join spilling to
        # temporary files in more pieces as the tables grew. Only this transaction's statements get it.
        cursor.execute("SET LOCAL maintenance_work_mem = '1GB'")
        cursor.execute("SET LOCAL work_mem = '256MB'")
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for statement in statements:
            cursor.execute(statement)
