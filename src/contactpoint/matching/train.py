"""Training the match model by expectation maximisation (``contactpoint match train``).

u probabilities come from random pairs; m probabilities from EM over three blocked samples, each leaving a
different comparison free to be learnt: pairs sharing an NHS number (names, dates, address, carers), pairs
sharing a UPN, and pairs sharing the sound of both names (identifiers and dates). The result is saved as
versioned JSON in the repository, with what it was trained on.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
from splink import DuckDBAPI, Linker, block_on

from contactpoint.matching.cluster import decide
from contactpoint.matching.engine import connect, score
from contactpoint.matching.evaluate import Quality, pairwise
from contactpoint.matching.frequencies import Frequencies, count
from contactpoint.matching.model import MODEL_VERSION, settings_creator
from contactpoint.matching.profile import SCHEMA

# Fewer labelled pairs than this are not used: a handful of pairs would pull m probabilities about.
MIN_LABELLED_PAIRS = 50


def train(profiles: Sequence[dict[str, Any]], *, description: str, seed: int = 1,
          labelled: tuple[Sequence[dict[str, Any]], Sequence[tuple[str, str]]] | None = None) -> dict[str, Any]:
    """``labelled``: the profiles of records data managers linked in the review queue and the pairs they linked
    (``contactpoint.matching.review.labelled_training_data``). With at least ``MIN_LABELLED_PAIRS`` pairs, m
    probabilities are also estimated from them, and Splink averages that estimate with the EM runs'."""

    labels = labelled if labelled is not None and len(labelled[1]) >= MIN_LABELLED_PAIRS else None
    if labels is not None:
        profiles = [*profiles, *labels[0]]
    con = connect()
    try:
        db_api = DuckDBAPI(con)
        df = db_api.register(pa.Table.from_pylist(list(profiles), schema=SCHEMA), table_name="training")
        linker = Linker(df, settings_creator(), log_level=logging.WARNING)
        training = linker.training
        training.estimate_probability_two_random_records_match(
            [block_on("nhs_number"), block_on("upn")], recall=0.8)
        training.estimate_u_using_random_sampling(max_pairs=5e6, seed=seed)
        for rule in (block_on("nhs_number"), block_on("upn"), block_on("given_metaphone", "family_metaphone")):
            training.estimate_parameters_using_expectation_maximisation(rule)
        if labels is not None:
            pairs = pa.Table.from_pylist([{"unique_id_l": a, "unique_id_r": b} for a, b in labels[1]])
            linker.table_management.register_table(pairs, "review_labels", overwrite=True)
            training.estimate_m_from_pairwise_labels("review_labels")
        settings = linker.misc.save_model_to_json(None)
    finally:
        con.close()
    _fill_identifier_gaps(settings)
    _floor_m(settings)
    settings["contactpoint"] = {"version": MODEL_VERSION, "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
                                "records": len(profiles), "trained_on": description,
                                "labelled_pairs": len(labels[1]) if labels is not None else 0}
    return settings


LINK_CANDIDATES = (0.95, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3)
REVIEW_BAND = 0.2  # a pair this much below the link threshold may still be put to a person
MIN_PRECISION = 0.999  # no threshold that links less surely than this, whatever its F1


def choose_thresholds(settings: dict[str, Any], profiles: Sequence[dict[str, Any]],
                      truth: dict[tuple[str, str], str], *, frequencies: bool = False,
                      ) -> tuple[float, float, dict[float, tuple[Quality, int]]]:
    """The link threshold with the best pairwise F1 on labelled training data (``profiles`` with
    ``SOURCE|RECORD_ID`` IDs, as ``ingest.profiles.profiles_of`` makes them), among those linking with precision
    of at least ``MIN_PRECISION``; the review threshold ``REVIEW_BAND`` below it. Also each candidate's quality
    and review count, for the operator to see. ``frequencies``: with term-frequency adjustments, counted on the
    training records themselves (as the feeds use the national counts)."""
    ids = [p["unique_id"] for p in profiles]
    model = {k: v for k, v in settings.items() if k != "contactpoint"}
    edges = score(profiles, ids, threshold=max(0.01, min(LINK_CANDIDATES) - REVIEW_BAND), settings=model,
                  frequencies=Frequencies.of(count(profiles)) if frequencies else None)
    tried: dict[float, tuple[Quality, int]] = {}
    by_id = {p["unique_id"]: p for p in profiles}
    for link in LINK_CANDIDATES:
        outcome = decide(ids, {}, by_id, edges, link=link, review=max(0.01, link - REVIEW_BAND))
        clusters = [((source, record), group) for uid, group in outcome.group_of.items()
                    for source, record in [uid.split("|", 1)]]
        tried[link] = (pairwise(clusters, truth), len(outcome.reviews))
    fit = [link for link, (q, _) in tried.items() if q.precision >= MIN_PRECISION] or [max(LINK_CANDIDATES)]
    link = max(fit, key=lambda t: (round(tried[t][0].f1, 3), t))  # within a thousandth: the surer threshold
    return link, round(max(0.01, link - REVIEW_BAND), 2), tried


def with_or_without_frequencies(settings: dict[str, Any], profiles: Sequence[dict[str, Any]],
                                truth: dict[tuple[str, str], str]) -> tuple[bool, float, float, dict]:
    """Whether the model decides better with term-frequency adjustments than without, on labelled training data:
    the better pairwise F1 at each one's chosen threshold (to a thousandth), then fewer pairs for review; a tie
    keeps them off (the simpler model). Returns (use them, link threshold, review threshold, what each tried)."""
    outcomes = {}
    for use in (False, True):
        link, review, tried = choose_thresholds(settings, profiles, truth, frequencies=use)
        quality, reviews = tried[link]
        outcomes[use] = ((round(quality.f1, 3), -reviews), link, review, tried)
    use = outcomes[True][0] > outcomes[False][0]
    _, link, review, _ = outcomes[use]
    return use, link, review, {use: outcomes[use][3] for use in outcomes}


def save(settings: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(settings, indent=1, sort_keys=True) + "\n")


# Identifiers are unique to a child: where training data cannot show a level (no two sources in the sample share
# ULNs, say, or a random sample holds no pair with the same UPN), use what uniqueness implies.
IDENTIFIER_PRIORS = {"exact": (0.95, 1e-7), "else": (0.05, 1.0 - 1e-7)}


def _fill_identifier_gaps(settings: dict[str, Any]) -> None:
    for comparison in settings["comparisons"]:
        if comparison["output_column_name"] not in ("nhs_number", "upn", "uln"):
            continue
        for level in comparison["comparison_levels"]:
            if level.get("is_null_level"):
                continue
            kind = "exact" if "Exact" in level.get("label_for_charts", "") else "else"
            m, u = IDENTIFIER_PRIORS[kind]
            if not level.get("m_probability") or (kind == "else" and level["m_probability"] >= 1.0):
                level["m_probability"] = m
            if not level.get("u_probability"):
                level["u_probability"] = u


M_FLOOR = 1e-3


def _floor_m(settings: dict[str, Any], floor: float = M_FLOOR) -> None:
    """No level is impossible for a true match. EM on clean training data can learn that, say, two records of
    one child never list different carers (m near 0, a weight of -70); real data has the odd typo in a carer's
    name. Floor every m and renormalise, so one disagreement can lower a score but never veto it."""
    for comparison in settings["comparisons"]:
        levels = [lv for lv in comparison["comparison_levels"] if not lv.get("is_null_level")]
        for level in levels:
            level["m_probability"] = max(level.get("m_probability") or 0.0, floor)
        total = sum(lv["m_probability"] for lv in levels)
        for level in levels:
            level["m_probability"] /= total
