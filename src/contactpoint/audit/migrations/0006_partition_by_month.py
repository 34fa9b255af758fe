"""On PostgreSQL, the audit trail partitioned by month of ``at`` (issue 17: an audit trail for a decade).

At national use the trail grows by 0.3 to 1 TB a year. One table that size cannot be moved, vacuumed or backed up
a piece at a time; a month's partition can, and an old month can be moved to cheaper storage
(``contactpoint audit partitions --move``) without changing a byte the chain hashes, so ``verify`` still holds.

- ``audit_entry`` becomes a table partitioned by range of ``at``: one partition a month
  (``audit_entry_y2026m12``), made a year ahead by ``audit_partition`` (the worker's daily "partitions"
  schedule keeps a year ahead), and a default partition for an entry outside every month made (a wrong clock);
  a month whose entries already went to the default partition is left there.
- The primary key must hold the partition key: it becomes (``seq``, ``at``), as does ``pending_id``'s
  uniqueness. ``seq`` stays unique because one linker at a time gives it out under the chain lock (0004), and a
  repeated ``seq`` would break the chain, which ``verify`` reports.
- The append-only triggers move to the partitioned table (row triggers apply to every partition); a TRUNCATE
  trigger is made on each partition, since truncating a partition does not fire its parent's.
- The entries already there are copied across in ``seq`` order (on a large existing trail this takes as long as
  writing it once: plan the upgrade for a quiet hour).

SQLite (development and the first test pass) keeps one table.
"""

from django.db import migrations

PG_FORWARD = r"""
DO $$
DECLARE
    defs text[];
    r record;
BEGIN
    -- The plain indexes (not the primary key or unique constraint, which must change), to make again on the new
    -- table under the same names Django knows them by.
    SELECT coalesce(array_agg(i.indexdef), '{}') INTO defs
    FROM pg_indexes AS i
    WHERE i.schemaname = current_schema() AND i.tablename = 'audit_entry'
      AND NOT EXISTS (SELECT 1 FROM pg_constraint AS c WHERE c.conindid = (quote_ident(i.schemaname) || '.' ||
                      quote_ident(i.indexname))::regclass);
    ALTER TABLE audit_entry RENAME TO audit_entry_unpartitioned;
    FOR r IN SELECT indexname FROM pg_indexes
             WHERE schemaname = current_schema() AND tablename = 'audit_entry_unpartitioned' LOOP
        EXECUTE format('ALTER INDEX %I RENAME TO %I', r.indexname, left('old_' || r.indexname, 63));
    END LOOP;

    CREATE TABLE audit_entry (LIKE audit_entry_unpartitioned INCLUDING DEFAULTS INCLUDING STORAGE)
        PARTITION BY RANGE (at);
    ALTER TABLE audit_entry ADD CONSTRAINT audit_entry_pkey PRIMARY KEY (seq, at);
    ALTER TABLE audit_entry ADD CONSTRAINT audit_entry_pending_id_key UNIQUE (pending_id, at);
    FOR i IN 1 .. coalesce(array_length(defs, 1), 0) LOOP
        EXECUTE defs[i];
    END LOOP;
    CREATE TABLE audit_entry_default PARTITION OF audit_entry DEFAULT;
END;
$$;

CREATE TRIGGER audit_entry_no_update BEFORE UPDATE OR DELETE ON audit_entry
    FOR EACH ROW EXECUTE FUNCTION audit_entry_refuse_change();
CREATE TRIGGER audit_entry_no_truncate BEFORE TRUNCATE ON audit_entry
    FOR EACH STATEMENT EXECUTE FUNCTION audit_entry_refuse_change();
CREATE TRIGGER audit_entry_no_truncate BEFORE TRUNCATE ON audit_entry_default
    FOR EACH STATEMENT EXECUTE FUNCTION audit_entry_refuse_change();

-- The partition for the month holding p_month (UTC), made if missing. Returns its name, or '' when it was
-- there already or when entries of that month are in the default partition (they stay there: moving them
-- would mean deleting from the trail, which it refuses).
CREATE OR REPLACE FUNCTION audit_partition(p_month date) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    first_day date := date_trunc('month', p_month)::date;
    name text := 'audit_entry_' || to_char(date_trunc('month', p_month), '"y"YYYY"m"MM');
    lo timestamptz := first_day::timestamp AT TIME ZONE 'UTC';
    hi timestamptz := (first_day + interval '1 month')::timestamp AT TIME ZONE 'UTC';
BEGIN
    IF to_regclass(quote_ident(name)) IS NOT NULL THEN
        RETURN '';
    END IF;
    IF EXISTS (SELECT 1 FROM audit_entry_default WHERE at >= lo AND at < hi) THEN
        RAISE NOTICE 'audit entries of % are in the default partition; no partition made for that month', name;
        RETURN '';
    END IF;
    EXECUTE format('CREATE TABLE %I PARTITION OF audit_entry FOR VALUES FROM (%L) TO (%L)', name, lo, hi);
    EXECUTE format('CREATE TRIGGER audit_entry_no_truncate BEFORE TRUNCATE ON %I '
                   'FOR EACH STATEMENT EXECUTE FUNCTION audit_entry_refuse_change()', name);
    RETURN name;
END;
$$;

-- A partition for every month the entries already there fall in, and from the current month a year ahead.
SELECT audit_partition(m::date) FROM (
    SELECT DISTINCT date_trunc('month', at AT TIME ZONE 'UTC') AS m FROM audit_entry_unpartitioned
    UNION
    SELECT generate_series(date_trunc('month', now() AT TIME ZONE 'UTC'),
                           date_trunc('month', now() AT TIME ZONE 'UTC') + interval '12 months', interval '1 month')
) AS months ORDER BY m;

INSERT INTO audit_entry SELECT * FROM audit_entry_unpartitioned ORDER BY seq;
DROP TABLE audit_entry_unpartitioned;
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_FORWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [("audit", "0005_request_ids_and_report_indexes")]

    # Going back would copy the trail into one table again; nothing needs that, so it is not offered.
    operations = [migrations.RunPython(forward)]
