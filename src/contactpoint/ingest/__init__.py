"""Ingestion: runs a source's feed through the stages below it, as one run of resumable batches.

    run.ingest ─► prepare (read, validate, key, profile: one row once) ─► batch.Batch (candidates from the blind
    index ─► Splink ─► link / new child / review ─► best views sealed and written ─► discrepancies)

``processes`` puts a large feed's CPU-bound work in helper processes (a reader one batch ahead, and workers that
open, profile, build and seal); ``work`` is what those workers do, the same code the main process runs for a
small feed. ``profiles`` makes match profiles straight from files, for training and evaluating the model.
``held`` keeps the rows that link to no child and are too thin to make one, until they can be taken in.
``jobs`` is what ``contactpoint worker`` runs: feeds sent over the API, and the service's schedules;
``frequencies`` counts how common names and postcodes are, for the match model; ``manual`` takes a child a data
manager creates by hand through the same matching (a possible match goes to the review queue, never a new child).
It sits above feeds, matching, bestview, records and children; none of them imports it.
"""

__all__ = ["batch", "frequencies", "held", "jobs", "manual", "prepare", "processes", "profiles", "run", "work"]
