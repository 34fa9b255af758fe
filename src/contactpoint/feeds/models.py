from __future__ import annotations

from django.db import models


class FeedRun(models.Model):
    """One feed file from one source. The same file again (same SHA-256) is the same run: re-sending it changes
    nothing. ``rows_done`` is the resume point: each batch of rows commits together with it, so a run killed
    part-way restarts at the first uncommitted batch."""

    class Status(models.TextChoices):
        RUNNING = "running"
        COMPLETED = "completed"
        REJECTED = "rejected"

    id = models.CharField(primary_key=True, max_length=40)
    source = models.ForeignKey("access.SourceSystem", on_delete=models.PROTECT, related_name="feed_runs")
    sha256 = models.CharField(max_length=64)
    format = models.CharField(max_length=8)
    mode = models.CharField(max_length=8, default="delta")  # "full": rows missing from it are no longer held
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.RUNNING)
    received_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)
    rows_done = models.PositiveIntegerField(default=0)
    rows_accepted = models.PositiveIntegerField(default=0)
    rows_unchanged = models.PositiveIntegerField(default=0)
    rows_refused = models.PositiveIntegerField(default=0)
    fields_refused = models.PositiveIntegerField(default=0)  # values and fields a taken row was taken without
    rows_held = models.PositiveIntegerField(default=0)  # linked to no child and too thin to make one: held
    children_created = models.PositiveIntegerField(default=0)
    records_linked = models.PositiveIntegerField(default=0)
    reviews_queued = models.PositiveIntegerField(default=0)
    children_merged = models.PositiveIntegerField(default=0)  # pairs a new record linked, no person having acted
    message = models.TextField(blank=True)

    class Meta:
        db_table = "feeds_run"
        constraints = [models.UniqueConstraint(fields=["source", "sha256"], name="feed_run_once_per_file")]
        ordering = ["-received_at"]


class RunKey(models.Model):
    """A record key a run has taken, written with its batch (so a run resumed after kill -9 knows them too) and
    deleted when the run completes. It is how a run knows a row repeats an earlier one of the same file, and which
    of the source's records a full feed no longer lists, without keeping every key of the file in memory: a
    national file has millions (``ingest.run``). A record key is a keyed hash: nothing of the row in clear."""

    run = models.ForeignKey(FeedRun, on_delete=models.CASCADE, db_index=False, related_name="+")
    key = models.CharField(max_length=64)

    class Meta:
        db_table = "feeds_run_key"
        constraints = [models.UniqueConstraint(fields=["run", "key"], name="feed_run_key_once")]


class RowProblem(models.Model):
    """A refused row (``kind=row``: the row was not taken), a wrong or missing value (``kind=value``: the row was
    taken without it) or a field outside Schedule 1 (``kind=field``: taken without it), reported back to the
    source. The reason never contains the value."""

    run = models.ForeignKey(FeedRun, on_delete=models.CASCADE, related_name="problems")
    line = models.PositiveIntegerField()
    field = models.CharField(max_length=100)
    reason = models.CharField(max_length=300)
    kind = models.CharField(max_length=8)

    class Meta:
        db_table = "feeds_row_problem"
        ordering = ["line", "id"]


class FeedJob(models.Model):
    """A feed file a source sent over the API, kept until a worker has run it (``contactpoint.ingest.jobs``).
    The file is sealed under a key of its own (derived from the key ring's index root and the job's ID, so a key
    rotation has nothing to re-wrap) and emptied once its run is over: nothing of it is in clear, and nothing is
    kept after. The source polls the job by its ID."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        COMPLETED = "completed"
        FAILED = "failed"  # refused whole (``message`` says why), or stopped: the run resumes if sent again

    id = models.UUIDField(primary_key=True)
    source = models.ForeignKey("access.SourceSystem", on_delete=models.PROTECT, related_name="feed_jobs")
    format = models.CharField(max_length=8)
    mode = models.CharField(max_length=8, default="delta")
    size = models.PositiveBigIntegerField()
    received_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED, db_index=True)
    run = models.ForeignKey(FeedRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="jobs")
    repeat = models.BooleanField(default=False)  # the file had been taken before: its run is the earlier one
    message = models.TextField(blank=True)  # why it was refused or stopped, in words; never a value
    payload = models.BinaryField(default=b"")  # the file, sealed; empty once run

    class Meta:
        db_table = "feeds_job"
        ordering = ["-received_at"]


class LoadRun(models.Model):
    """A first load of many source files as one job (``contactpoint load``, ``contactpoint.ingest.load``). Each
    file has its own ``FeedRun`` (its row problems, its counts, re-sending it changes nothing); the load is
    what they were taken as together. ``stage`` is the resume point: a load killed while reading or matching
    starts those again (nothing was written), one killed while writing goes on from ``groups_done``."""

    class Stage(models.TextChoices):
        MATCHING = "matching"  # reading, validating and matching every file: nothing written yet
        WRITING = "writing"  # placements kept (LoadPlacement): children written a batch of groups at a time
        COMPLETED = "completed"

    id = models.CharField(primary_key=True, max_length=40)
    fingerprint = models.CharField(max_length=64, unique=True)  # SHA-256 over the files' sources and SHA-256s
    stage = models.CharField(max_length=12, choices=Stage.choices, default=Stage.MATCHING)
    received_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)
    records = models.PositiveIntegerField(default=0)  # rows taken, all files
    groups_total = models.PositiveIntegerField(default=0)  # new children to write
    groups_done = models.PositiveIntegerField(default=0)
    pairs_scored = models.PositiveBigIntegerField(default=0)
    reviews = models.JSONField(default=list)  # the pairs to queue, by record key (no values), written last
    seconds = models.JSONField(default=dict)  # how long each stage took, for the operator
    # The blind index's keys set aside while it is written, to make again at the end (``vault.bulkload``).
    keys_set_aside = models.JSONField(default=list)

    class Meta:
        db_table = "feeds_load"
        ordering = ["-received_at"]


class LoadPlacement(models.Model):
    """Which new child (``child_number``, numbered from 0 in writing order; -1: held, too thin to make one) each
    record of a load goes to, kept between matching and writing. A record is named by its file's place in the load
    and its position among the file's accepted rows: nothing here is a child's data, and a load resumed after a
    kill reads the same files to the same positions. Deleted when the load completes."""

    load = models.ForeignKey(LoadRun, on_delete=models.CASCADE, related_name="placements")
    file = models.SmallIntegerField()
    position = models.IntegerField()
    child_number = models.IntegerField()

    class Meta:
        db_table = "feeds_load_placement"
        # The write reads the placements a batch of children at a time, by child number.
        indexes = [models.Index(fields=["load", "child_number"], name="feeds_load_placement_child")]
