from __future__ import annotations

from django.db import models


class AuditEntry(models.Model):
    """One link of the chain. Append-only: on PostgreSQL a trigger refuses UPDATE, DELETE and TRUNCATE.

    Every column except ``hash`` and ``pending_id`` is covered by ``hash`` (see
    ``contactpoint.audit.chain.entry_body``). Personal details live only in ``detail``, encrypted, so the chain
    verifies after a child is shredded. ``pending_id`` is bookkeeping: the ``AuditPending`` row the entry was
    sealed from, unique so that no pending entry can be sealed twice.

    On PostgreSQL the table is partitioned by month of ``at`` (migration 0006; docs/monitoring.md): the chain runs
    across partitions in ``seq`` order, and an old month can be moved to cheaper storage without breaking it.
    Its indexes are what the reports and the monitor ask for, and no more, since each costs every append: ``seq``
    (the chain, the monitor's cursor), ``at`` (time windows), a user's entries newest first (``actor`` and
    ``target_user`` each with ``seq``) and, on PostgreSQL, the children an entry names (GIN on ``subjects``)."""

    seq = models.BigIntegerField(primary_key=True)
    at = models.DateTimeField(db_index=True)
    action = models.CharField(max_length=64)
    outcome = models.CharField(max_length=16)
    severity = models.CharField(max_length=8)
    actor = models.CharField(max_length=150)
    actor_org = models.CharField(max_length=32, blank=True)
    actor_role = models.CharField(max_length=64, blank=True)
    reason = models.CharField(max_length=40, blank=True)
    target_user = models.CharField(max_length=150, blank=True)  # the account acted on, if any
    subjects = models.JSONField(default=list)
    context = models.JSONField(default=dict)
    detail = models.TextField(blank=True)
    detail_key = models.CharField(max_length=16, blank=True)
    request_id = models.CharField(max_length=64, blank=True, default="")  # the request, command or job
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)
    pending_id = models.BigIntegerField(null=True, unique=True)

    class Meta:
        db_table = "audit_entry"
        ordering = ["seq"]
        indexes = [
            models.Index(fields=["actor", "seq"], name="audit_entry_actor_seq"),
            models.Index(fields=["target_user", "seq"], name="audit_entry_target_seq"),
        ]


class AuditPending(models.Model):
    """An entry written and committed but not yet linked into the chain (PostgreSQL, outside a transaction).

    Writers commit here concurrently, so their commits share WAL flushes; one linker at a time moves pending
    entries, in id order, into ``AuditEntry`` and deletes them here, in one transaction per batch. The linking
    is done by the database (``audit_link_pending``, migration 0004); see ``contactpoint.audit.trail``."""

    id = models.BigAutoField(primary_key=True)
    at = models.DateTimeField()
    action = models.CharField(max_length=64)
    outcome = models.CharField(max_length=16)
    severity = models.CharField(max_length=8)
    actor = models.CharField(max_length=150)
    actor_org = models.CharField(max_length=32, blank=True)
    actor_role = models.CharField(max_length=64, blank=True)
    reason = models.CharField(max_length=40, blank=True)
    target_user = models.CharField(max_length=150, blank=True)
    subjects = models.JSONField(default=list)
    context = models.JSONField(default=dict)
    detail = models.TextField(blank=True)
    detail_key = models.CharField(max_length=16, blank=True)
    request_id = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        db_table = "audit_pending"


class AuditHead(models.Model):
    """The chain's tip, one row. Appenders lock it, so concurrent writers neither fork the chain nor leave
    gaps; verification compares it with the last entry to detect a truncated tail."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    seq = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64)

    class Meta:
        db_table = "audit_head"


class AuditCheckpoint(models.Model):
    """A signed statement "the chain had this hash at this length", also written to an outside witness."""

    seq = models.BigIntegerField()
    hash = models.CharField(max_length=64)
    at = models.DateTimeField()
    key_fingerprint = models.CharField(max_length=32)
    signature = models.CharField(max_length=128)

    class Meta:
        db_table = "audit_checkpoint"
        ordering = ["-seq"]


class AuditDetailKey(models.Model):
    """A month's key for the encrypted details of audit entries (search criteria, free-text reasons).
    Wrapped by the key ring; destroyed after ``audit_detail_years`` so old criteria become unreadable."""

    epoch = models.CharField(max_length=16, primary_key=True)
    kek_id = models.CharField(max_length=40, db_index=True)
    wrapped = models.BinaryField()
    created_at = models.DateTimeField()

    class Meta:
        db_table = "audit_detail_key"


class AuditVerification(models.Model):
    """The result of each verification, for the auditors' health page and for the next incremental one.

    ``full``: a walk from the first entry (done in slices by the worker, or at once by ``audit verify --full``).
    Otherwise incremental: from ``from_seq``, a signed checkpoint an earlier verification had passed, to
    ``last_seq``, the head at the time. An incremental verification starts from the newest signed checkpoint at
    or before the last intact one's ``last_seq``."""

    at = models.DateTimeField()
    intact = models.BooleanField()
    entries = models.BigIntegerField()
    message = models.TextField(blank=True)
    full = models.BooleanField(default=True)
    from_seq = models.BigIntegerField(default=0)
    last_seq = models.BigIntegerField(default=0)

    class Meta:
        db_table = "audit_verification"
        ordering = ["-at"]
