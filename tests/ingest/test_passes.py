"""A batch whose rows find many candidate children is worked in passes of fewer rows (``batch.CANDIDATES_PER_PASS``),
so that a feed's memory does not grow with the index's density: the index it gives is the one a batch in one pass
gives."""

from __future__ import annotations

import pytest

from contactpoint.ingest import batch as batching
from contactpoint.ingest.run import ingest
from contactpoint.vault.keyring import get_keyring
from tests.ingest.test_load import NOW, _empty_the_index, _files, _index, folder  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db


def _feed_all(files) -> dict:
    for f in files:
        ingest(f.source, f.data, fmt="csv", mode="full", keyring=get_keyring(), now=NOW, batch_size=10_000)
    return _index()


def test_a_batch_that_finds_many_candidates_is_taken_in_passes_with_the_same_outcome(folder, monkeypatch):  # noqa: F811
    files = _files(folder)
    whole = _feed_all(files)
    _empty_the_index()

    passes: list[tuple[int, int]] = []  # (rows in the pass, candidates the pass before found a row, x100)
    real = batching.Batch._pass

    def counted(self, entries):
        passes.append((len(entries), round(100 * (self.candidates_per_row or 0))))
        return real(self, entries)

    monkeypatch.setattr(batching.Batch, "_pass", counted)
    monkeypatch.setattr(batching, "CANDIDATES_PER_PASS", 40)
    monkeypatch.setattr(batching, "SMALLEST_PASS", 5)
    monkeypatch.setattr(batching, "FIRST_PASS", 20)
    in_passes = _feed_all(files)

    for part in ("children", "held", "problems", "runs", "discrepancies", "reviews"):
        assert in_passes[part] == whole[part], part
    assert passes[0][0] == 20  # a run's first pass: nothing known yet of how many a row finds
    later = [(rows, per_row) for rows, per_row in passes[1:] if per_row]
    assert later and max(rows for rows, _ in later) < 100  # every file's batch (up to 160 rows) was split
    for rows, per_row in later:  # each pass sized by what the pass before found
        assert rows <= max(5, 40 * 100 // per_row + 1)
