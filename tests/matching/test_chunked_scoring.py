"""A load scored in chunks (``engine.PREDICT_CHUNK_RECORDS``, Splink's ``num_chunks_left``/``_right``), which a
national load needs to hold its pairs a piece at a time, finds the same pairs with the same probabilities as one
pass."""

from __future__ import annotations

from datetime import date

import pytest

from contactpoint.ingest.profiles import profiles_of
from contactpoint.matching import engine
from contactpoint.matching.engine import Backend, score, score_all
from contactpoint.matching.profile import arrow_table
from contactpoint.synthetic.generator import generate

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    folder = tmp_path_factory.mktemp("feeds")
    generate(150, 7, folder, ["202"], today=date(2026, 11, 24), workers=1)
    return arrow_table(profiles_of(folder, today=date(2026, 11, 24)))


def _pairs(scored) -> dict[tuple[str, str], float]:
    return {tuple(sorted((e.left, e.right))): round(e.probability, 9) for e in scored.edges}


@pytest.mark.parametrize("right", [1, 2, 3], ids=["3 by 1", "3 by 2", "3 by 3"])
def test_scoring_in_chunks_finds_the_same_pairs_as_one_pass(table, monkeypatch, right):
    whole = _pairs(score_all(table, engine=Backend()))
    assert len(whole) > 50  # there was something to find
    monkeypatch.setattr(engine, "PREDICT_CHUNK_RECORDS", len(table) // 3 + 1)  # three pieces on the left
    monkeypatch.setattr(engine, "PREDICT_RIGHT_CHUNK_RECORDS", len(table) // right + 1)
    chunked = score_all(table, engine=Backend())
    assert len(chunked.edges) == len(whole)  # each pair once, not once a chunk pair
    assert _pairs(chunked) == whole


def test_the_evidence_of_a_loads_pair_is_what_the_feeds_scoring_shows(table):
    """A load keeps no evidence with its pairs (``Scored.evidence`` scores the review items' records again): each
    comparison's level must still be the one the feeds' own scoring gives the pair."""
    rows = table.to_pylist()
    expected = {frozenset((e.left, e.right)): e.evidence
                for e in score(rows, [r["unique_id"] for r in rows], engine=Backend())}
    scored = score_all(table, engine=Backend())
    asked = [(e.left, e.right) for e in scored.edges[::7]]
    found = scored.evidence(asked)
    assert len(found) == len(asked) > 5
    for pair, levels in found.items():
        assert levels and levels == expected[frozenset(pair)]
    assert scored.evidence([]) == {}
