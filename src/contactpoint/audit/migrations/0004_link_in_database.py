"""On PostgreSQL, audit entries are linked into the chain by the database itself (``audit_append`` and
``audit_drain``), hashing exactly as ``contactpoint.audit.chain`` does in Python.

Linking in Python cost eight round trips per append; in the database it costs one, which is what lets the trail
keep up with a busy service (issue 2: 2,000 appends a second). The Python code still verifies the chain, so the
two hashings are held to the same bytes by a property test (tests/audit/test_link_in_database.py).

``audit_canonical`` is RFC 8785 canonical JSON for what audit entries hold: objects with ASCII keys (sorted
bytewise, which for ASCII is RFC 8785's UTF-16 order), arrays, strings (jsonb escapes them exactly as RFC 8785
does: the two-character escapes, other control characters as lowercase \\u00xx, nothing else), integers within
±2^53 and booleans and null. ``record_event`` refuses anything else before it reaches the database."""

from django.db import migrations

PG_FORWARD = r"""
-- PL/pgSQL rather than SQL: a recursive SQL function is planned afresh on every call, ten times the cost.
CREATE OR REPLACE FUNCTION audit_canonical(j jsonb) RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    out text;
BEGIN
    CASE jsonb_typeof(j)
    WHEN 'object' THEN
        SELECT '{' || coalesce(string_agg(to_json(e.key)::text || ':' ||
                   CASE WHEN jsonb_typeof(e.value) IN ('object', 'array') THEN audit_canonical(e.value)
                        ELSE e.value::text END,
                   ',' ORDER BY e.key COLLATE "C"), '') || '}'
        INTO out FROM jsonb_each(j) AS e;
    WHEN 'array' THEN
        SELECT '[' || coalesce(string_agg(
                   CASE WHEN jsonb_typeof(e.value) IN ('object', 'array') THEN audit_canonical(e.value)
                        ELSE e.value::text END,
                   ',' ORDER BY e.n), '') || ']'
        INTO out FROM jsonb_array_elements(j) WITH ORDINALITY AS e(value, n);
    ELSE
        out := j::text;
    END CASE;
    RETURN out;
END;
$$;

-- An entry's hash, over the body contactpoint.audit.chain.entry_body makes (its keys in sorted order).
CREATE OR REPLACE FUNCTION audit_entry_hash(
    p_seq bigint, p_at timestamptz, p_action text, p_outcome text, p_severity text, p_actor text,
    p_actor_org text, p_actor_role text, p_reason text, p_target_user text, p_subjects jsonb, p_context jsonb,
    p_detail text, p_detail_key text, p_prev text) RETURNS text
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
        || ',"seq":' || p_seq
        || ',"severity":' || to_json(p_severity)::text
        || ',"subjects":' || audit_canonical(p_subjects)
        || ',"target_user":' || to_json(p_target_user)::text
        || '}', 'UTF8')), 'hex');
END;
$$;

-- Link up to max_rows pending entries, oldest first, and return how many were linked and the chain's tip after
-- them (created at the genesis hash for an empty trail). The caller holds the chain lock (_CHAIN_LOCK in
-- contactpoint.audit.trail) for the rest of its transaction.
CREATE OR REPLACE FUNCTION audit_link_pending(max_rows integer, OUT linked integer, OUT head_seq bigint,
                                              OUT head_hash text)
LANGUAGE plpgsql AS $$
DECLARE
    r audit_pending;
    linked_ids bigint[] := '{}';
BEGIN
    SELECT h.seq, h.hash INTO head_seq, head_hash FROM audit_head AS h WHERE h.id = 1;
    IF NOT FOUND THEN
        -- A missing head over existing entries means someone removed it: refuse rather than start a second
        -- chain.
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
                                 target_user, subjects, context, detail, detail_key, prev_hash, hash, pending_id)
        VALUES (head_seq, r.at, r.action, r.outcome, r.severity, r.actor, r.actor_org, r.actor_role, r.reason,
                r.target_user, r.subjects, r.context, r.detail, r.detail_key, head_hash,
                audit_entry_hash(head_seq, r.at, r.action, r.outcome, r.severity, r.actor, r.actor_org,
                                 r.actor_role, r.reason, r.target_user, r.subjects, r.context, r.detail,
                                 r.detail_key, head_hash), r.id)
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

-- Append one entry. If this transaction can have the chain lock (always when wait is true; only when nobody
-- else is linking when wait is false) the entry is linked at once, after everything pending before it;
-- otherwise it is committed to audit_pending for the holder to link. Returns the entry's seq, previous hash
-- and hash when linked, else its pending id.
CREATE OR REPLACE FUNCTION audit_append(
    p_at timestamptz, p_action text, p_outcome text, p_severity text, p_actor text, p_actor_org text,
    p_actor_role text, p_reason text, p_target_user text, p_subjects jsonb, p_context jsonb, p_detail text,
    p_detail_key text, lock_key bigint, wait boolean, batch integer,
    OUT pending_id bigint, OUT seq bigint, OUT prev_hash text, OUT entry_hash text)
LANGUAGE plpgsql AS $$
DECLARE
    linked integer;
BEGIN
    IF wait THEN
        PERFORM pg_advisory_xact_lock(lock_key);
    ELSIF NOT pg_try_advisory_xact_lock(lock_key) THEN
        INSERT INTO audit_pending (at, action, outcome, severity, actor, actor_org, actor_role, reason,
                                   target_user, subjects, context, detail, detail_key)
        VALUES (p_at, p_action, p_outcome, p_severity, p_actor, p_actor_org, p_actor_role, p_reason,
                p_target_user, p_subjects, p_context, p_detail, p_detail_key)
        RETURNING id INTO pending_id;
        RETURN;
    END IF;
    -- What is pending now was committed before this entry: it goes first.
    LOOP
        SELECT l.linked, l.head_seq + 1, l.head_hash INTO linked, seq, prev_hash FROM audit_link_pending(batch) AS l;
        EXIT WHEN linked < batch;
    END LOOP;
    entry_hash := audit_entry_hash(seq, p_at, p_action, p_outcome, p_severity, p_actor, p_actor_org, p_actor_role,
                                   p_reason, p_target_user, p_subjects, p_context, p_detail, p_detail_key,
                                   prev_hash);
    INSERT INTO audit_entry (seq, at, action, outcome, severity, actor, actor_org, actor_role, reason, target_user,
                             subjects, context, detail, detail_key, prev_hash, hash)
    VALUES (seq, p_at, p_action, p_outcome, p_severity, p_actor, p_actor_org, p_actor_role, p_reason,
            p_target_user, p_subjects, p_context, p_detail, p_detail_key, prev_hash, entry_hash);
    UPDATE audit_head SET seq = audit_append.seq, hash = entry_hash WHERE id = 1;
END;
$$;

-- Link what is pending, in one batch, if the chain lock can be had (always when wait is true). Returns how
-- many were linked, 0 when nothing was pending, or -1 when another transaction holds the chain.
CREATE OR REPLACE FUNCTION audit_drain(lock_key bigint, wait boolean, batch integer) RETURNS integer
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM audit_pending) THEN
        RETURN 0;
    END IF;
    IF wait THEN
        PERFORM pg_advisory_xact_lock(lock_key);
    ELSIF NOT pg_try_advisory_xact_lock(lock_key) THEN
        RETURN -1;
    END IF;
    RETURN (audit_link_pending(batch)).linked;
END;
$$;
"""

PG_BACKWARD = """
DROP FUNCTION IF EXISTS audit_drain(bigint, boolean, integer);
DROP FUNCTION IF EXISTS audit_append(timestamptz, text, text, text, text, text, text, text, text, jsonb, jsonb,
                                     text, text, bigint, boolean, integer);
DROP FUNCTION IF EXISTS audit_link_pending(integer);
DROP FUNCTION IF EXISTS audit_entry_hash(bigint, timestamptz, text, text, text, text, text, text, text, text, jsonb,
                                         jsonb, text, text, text);
DROP FUNCTION IF EXISTS audit_canonical(jsonb);
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_FORWARD, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_BACKWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [("audit", "0003_pending_entries")]

    operations = [migrations.RunPython(forward, backward)]
