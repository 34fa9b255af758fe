"""Request ids on audit entries, and the indexes the access reports need (issue 17).

- ``request_id``: the request, command or job an entry was written in. Hashed as ``"request"`` in the entry's
  body when there is one (``contactpoint.audit.chain.entry_body``), so entries written before keep their hashes;
  the database's linking (migration 0004) is replaced by the same functions taking the id.
- "What did this user do" and "who has seen this child" were answered by scanning the trail (0.9 s at two
  million entries, minutes at a billion): now ``actor`` and ``target_user`` are indexed with ``seq`` (newest
  first), and, on PostgreSQL, ``subjects`` by a GIN index (``jsonb_path_ops``, which answers ``@>``). The
  single-column indexes on ``action``, ``actor`` and ``target_user`` (and PostgreSQL's ``LIKE`` twins of them),
  which nothing needs, go: every index costs every append.
"""

from importlib import import_module

from django.db import migrations, models

PG_FORWARD = r"""
CREATE INDEX audit_entry_subjects_gin ON audit_entry USING gin (subjects jsonb_path_ops);

DROP FUNCTION IF EXISTS audit_append(timestamptz, text, text, text, text, text, text, text, text, jsonb, jsonb,
                                     text, text, bigint, boolean, integer);
DROP FUNCTION IF EXISTS audit_entry_hash(bigint, timestamptz, text, text, text, text, text, text, text, text, jsonb,
                                         jsonb, text, text, text);

-- As in 0004, with the request id: in the body as "request", between "reason" and "seq", only when there is one.
CREATE FUNCTION audit_entry_hash(
    p_seq bigint, p_at timestamptz, p_action text, p_outcome text, p_severity text, p_actor text,
    p_actor_org text, p_actor_role text, p_reason text, p_target_user text, p_subjects jsonb, p_context jsonb,
    p_detail text, p_detail_key text, p_prev text, p_request text) RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
    RETURN encode(sha256(convert_to(
           '{"action":' || to_json(p_action)::text
        || ',"actor":' || to_json(p_actor)::text
        || ',"actor_org":' || to_json(p_actor_org)::text
        || ',"actor_role":' || to_json(p_actor_role)::text
        || ',"at":"' || to_char(p_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') || '+00:00"'
        || ',"context":' || audit_canonical(p_context)
        || ',"detail":' || to_json(p_detail)::text
        || ',"detail_key":' || to_json(p_detail_key)::text
        || ',"outcome":' || to_json(p_outcome)::text
        || ',"prev":"' || p_prev || '"'
        || ',"reason":' || to_json(p_reason)::text
        || CASE WHEN coalesce(p_request, '') = '' THEN '' ELSE ',"request":' || to_json(p_request)::text END
        || ',"seq":' || p_seq
        || ',"severity":' || to_json(p_severity)::text
        || ',"subjects":' || audit_canonical(p_subjects)
        || ',"target_user":' || to_json(p_target_user)::text
        || '}', 'UTF8')), 'hex');
END;
$$;

CREATE OR REPLACE FUNCTION audit_link_pending(max_rows integer, OUT linked integer, OUT head_seq bigint,
                                              OUT head_hash text)
LANGUAGE plpgsql AS $$
DECLARE
    r audit_pending;
    linked_ids bigint[] := '{}';
BEGIN
    SELECT h.seq, h.hash INTO head_seq, head_hash FROM audit_head AS h WHERE h.id = 1;
    IF NOT FOUND THEN
        IF EXISTS (SELECT 1 FROM audit_entry) THEN
            RAISE EXCEPTION 'the audit trail''s head row is missing: the trail may have been tampered with';
        END IF;
        head_seq := 0;
        head_hash := repeat('0', 64);
        INSERT INTO audit_head (id, seq, hash) VALUES (1, head_seq, head_hash);
    END IF;
    FOR r IN SELECT * FROM audit_pending ORDER BY id LIMIT max_rows LOOP
        head_seq := head_seq + 1;
        INSERT INTO audit_entry (seq, at, action, outcome, severity, actor, actor_org, actor_role, reason,
                                 target_user, subjects, context, detail, detail_key, request_id, prev_hash, hash,
                                 pending_id)
        VALUES (head_seq, r.at, r.action, r.outcome, r.severity, r.actor, r.actor_org, r.actor_role, r.reason,
                r.target_user, r.subjects, r.context, r.detail, r.detail_key, r.request_id, head_hash,
                audit_entry_hash(head_seq, r.at, r.action, r.outcome, r.severity, r.actor, r.actor_org,
                                 r.actor_role, r.reason, r.target_user, r.subjects, r.context, r.detail,
                                 r.detail_key, head_hash, r.request_id), r.id)
        RETURNING hash INTO head_hash;
        linked_ids := linked_ids || r.id;
    END LOOP;
    linked := cardinality(linked_ids);
    IF linked > 0 THEN
        DELETE FROM audit_pending WHERE id = ANY(linked_ids);
        UPDATE audit_head SET seq = head_seq, hash = head_hash WHERE id = 1;
    END IF;
END;
$$;

CREATE FUNCTION audit_append(
    p_at timestamptz, p_action text, p_outcome text, p_severity text, p_actor text, p_actor_org text,
    p_actor_role text, p_reason text, p_target_user text, p_subjects jsonb, p_context jsonb, p_detail text,
    p_detail_key text, p_request text, lock_key bigint, wait boolean, batch integer,
    OUT pending_id bigint, OUT seq bigint, OUT prev_hash text, OUT entry_hash text)
LANGUAGE plpgsql AS $$
DECLARE
    linked integer;
BEGIN
    IF wait THEN
        PERFORM pg_advisory_xact_lock(lock_key);
    ELSIF NOT pg_try_advisory_xact_lock(lock_key) THEN
        INSERT INTO audit_pending (at, action, outcome, severity, actor, actor_org, actor_role, reason,
                                   target_user, subjects, context, detail, detail_key, request_id)
        VALUES (p_at, p_action, p_outcome, p_severity, p_actor, p_actor_org, p_actor_role, p_reason,
                p_target_user, p_subjects, p_context, p_detail, p_detail_key, p_request)
        RETURNING id INTO pending_id;
        RETURN;
    END IF;
    LOOP
        SELECT l.linked, l.head_seq + 1, l.head_hash INTO linked, seq, prev_hash FROM audit_link_pending(batch) AS l;
        EXIT WHEN linked < batch;
    END LOOP;
    entry_hash := audit_entry_hash(seq, p_at, p_action, p_outcome, p_severity, p_actor, p_actor_org, p_actor_role,
                                   p_reason, p_target_user, p_subjects, p_context, p_detail, p_detail_key,
                                   prev_hash, p_request);
    INSERT INTO audit_entry (seq, at, action, outcome, severity, actor, actor_org, actor_role, reason, target_user,
                             subjects, context, detail, detail_key, request_id, prev_hash, hash)
    VALUES (seq, p_at, p_action, p_outcome, p_severity, p_actor, p_actor_org, p_actor_role, p_reason,
            p_target_user, p_subjects, p_context, p_detail, p_detail_key, p_request, prev_hash, entry_hash);
    UPDATE audit_head SET seq = audit_append.seq, hash = entry_hash WHERE id = 1;
END;
$$;
"""

PG_BACKWARD = """
DROP INDEX IF EXISTS audit_entry_subjects_gin;
DROP FUNCTION IF EXISTS audit_append(timestamptz, text, text, text, text, text, text, text, text, jsonb, jsonb,
                                     text, text, text, bigint, boolean, integer);
DROP FUNCTION IF EXISTS audit_entry_hash(bigint, timestamptz, text, text, text, text, text, text, text, text, jsonb,
                                         jsonb, text, text, text, text);
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_FORWARD, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_BACKWARD, params=None)
        # 0004's functions again, as they were (its module name starts with a digit: import it by name).
        schema_editor.execute(import_module("contactpoint.audit.migrations.0004_link_in_database").PG_FORWARD,
                              params=None)


class Migration(migrations.Migration):

    dependencies = [
        ('audit', '0004_link_in_database'),
    ]

    operations = [
        migrations.AddField(
            model_name='auditentry',
            name='request_id',
            field=models.CharField(blank=True, default='', max_length=64),
        ),
        migrations.AddField(
            model_name='auditpending',
            name='request_id',
            field=models.CharField(blank=True, default='', max_length=64),
        ),
        migrations.AddField(
            model_name='auditverification',
            name='from_seq',
            field=models.BigIntegerField(default=0),
        ),
        migrations.AddField(
            model_name='auditverification',
            name='full',
            field=models.BooleanField(default=True),
        ),
        migrations.AddField(
            model_name='auditverification',
            name='last_seq',
            field=models.BigIntegerField(default=0),
        ),
        migrations.AlterField(
            model_name='auditentry',
            name='action',
            field=models.CharField(max_length=64),
        ),
        migrations.AlterField(
            model_name='auditentry',
            name='actor',
            field=models.CharField(max_length=150),
        ),
        migrations.AlterField(
            model_name='auditentry',
            name='target_user',
            field=models.CharField(blank=True, max_length=150),
        ),
        migrations.AddIndex(
            model_name='auditentry',
            index=models.Index(fields=['actor', 'seq'], name='audit_entry_actor_seq'),
        ),
        migrations.AddIndex(
            model_name='auditentry',
            index=models.Index(fields=['target_user', 'seq'], name='audit_entry_target_seq'),
        ),
        migrations.RunPython(forward, backward),
    ]
