"""The evidence behind a review item: how Splink compared the two source records closest to each other.

Worked out when a data manager opens the pair, from the records as they are then: both are decrypted and
profiled in memory, scored by Splink's ``score_pair`` in an in-memory DuckDB that is dropped at once, and only
the comparison levels and match weights leave this module (words and numbers, never a value). If either record
is no longer held, the levels the feeds stored when they queued the pair are weighed by the trained model.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
from splink import DuckDBAPI, Linker

from contactpoint.children.models import SourceRecord
from contactpoint.children.source_records import open_payload
from contactpoint.children.store import cipher_for
from contactpoint.matching.engine import connect, level_labels
from contactpoint.matching.model import trained_settings
from contactpoint.matching.models import ReviewItem
from contactpoint.matching.profile import SCHEMA, profile
from contactpoint.vault.keyring import KeyRing

COMPARISON_WORDS = {
    "nhs_number": "NHS number", "upn": "Unique pupil number", "uln": "Unique learner number",
    "birth_date": "Date of birth", "given_name": "Given name", "family_name": "Family name",
    "address": "Home and carers", "gender": "Gender",
}


@dataclass(frozen=True)
class EvidenceRow:
    comparison: str  # in words
    level: str  # the comparison level Splink found, in words ("exact", "nickname", "different"...)
    weight: float  # its match weight: log2 of m / u (positive: evidence for one child; negative: against)


# Comparisons over fields a shielded child's record withholds (whereabouts and identifiers): "same home" next
# to the other child's address would say where the shielded child lives.
WITHHELD_COMPARISONS = frozenset({"nhs_number", "upn", "uln", "address"})


@dataclass(frozen=True)
class Evidence:
    rows: list[EvidenceRow]
    prior_weight: float  # the weight before any comparison: log2 of the odds that two random records match
    total_weight: float
    probability: float | None  # as the feeds scored it when the pair was queued; None when withheld

    def withholding(self) -> Evidence:
        """The evidence without the comparisons of withheld fields, totalled again from what is left; the
        feeds' probability, which counted them, is withheld too."""
        hidden = {COMPARISON_WORDS[name] for name in WITHHELD_COMPARISONS}
        rows = [r for r in self.rows if r.comparison not in hidden]
        return Evidence(rows, self.prior_weight, round(self.prior_weight + sum(r.weight for r in rows), 2), None)


def _level_words(label: str) -> str:
    if label.startswith("Exact match"):
        return "exact"
    if label == "All other comparisons":
        return "different"
    return label


def _ordered(name: str) -> int:
    return list(COMPARISON_WORDS).index(name) if name in COMPARISON_WORDS else len(COMPARISON_WORDS)


def _closest_profiles(item: ReviewItem, keyring: KeyRing) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """The two source records behind the doubt, as the model sees them (decrypted and profiled in memory)."""

    records = {r.record_key: r for r in SourceRecord.objects.filter(
        record_key__in=(item.record_a, item.record_b)).select_related("child")}
    if item.record_a not in records or item.record_b not in records:
        return None
    out = []
    for key in (item.record_a, item.record_b):
        record = records[key]
        out.append(profile(key, record.source_kind, open_payload(cipher_for(keyring, record.child), record)))
    return out[0], out[1]


def _score_pair(left: dict[str, Any], right: dict[str, Any]) -> dict[str, Any]:
    """Splink's comparison of two records: the level (gamma) and match weight of each comparison. DuckDB in
    memory, dropped at once: the profiles never reach a disk."""

    con = connect()
    try:
        con.execute("SET threads TO 1")
        df = DuckDBAPI(con).register(pa.Table.from_pylist([left, right], schema=SCHEMA), table_name="pair")
        linker = Linker(df, dict(trained_settings()), log_level=logging.WARNING)
        relation = linker.inference.score_pair(left, right).as_duckdbpyrelation()
        return dict(zip(relation.columns, relation.fetchall()[0], strict=True))
    finally:
        con.close()


def _stored_evidence(item: ReviewItem) -> Evidence:
    """The levels the feeds recorded when the pair was queued, weighed by the trained model (when the records
    themselves are no longer held)."""

    settings = trained_settings()
    weights: dict[str, dict[str, float]] = {}
    for comparison in settings["comparisons"]:
        levels = {}
        for level in comparison["comparison_levels"]:
            m, u = level.get("m_probability"), level.get("u_probability")
            if not level.get("is_null_level") and m and u:
                levels[level.get("label_for_charts") or "other"] = math.log2(m / u)
        weights[comparison["output_column_name"]] = levels
    lam = settings.get("probability_two_random_records_match") or 1e-6
    prior = math.log2(lam / (1 - lam))
    rows = []
    for name, label in sorted(item.evidence.items(), key=lambda kv: _ordered(kv[0])):
        weight = weights.get(name, {}).get(label)
        if weight is not None:
            rows.append(EvidenceRow(COMPARISON_WORDS.get(name, name), _level_words(label), round(weight, 2)))
    total = prior + sum(r.weight for r in rows)
    return Evidence(rows, round(prior, 2), round(total, 2), item.probability)


def evidence(item: ReviewItem, keyring: KeyRing) -> Evidence:
    """Why the model was unsure: Splink's comparison of the closest pair of records, level by level, with each
    level's match weight (positive: evidence they are one child; negative: evidence against). Worked out from the
    records as they are now; the probability shown is the one the feeds scored when they queued the pair."""

    pair = _closest_profiles(item, keyring)
    if pair is None:
        return _stored_evidence(item)
    scored = _score_pair(*pair)
    labels = level_labels(trained_settings())
    rows = []
    for name in sorted(labels, key=_ordered):
        gamma = scored.get(f"gamma_{name}")
        if gamma is None:
            continue
        level = "not known for one or both" if gamma < 0 else _level_words(labels[name].get(gamma, "other"))
        rows.append(EvidenceRow(COMPARISON_WORDS.get(name, name), level, round(float(scored[f"mw_{name}"]), 2)))
    total = float(scored["match_weight"])
    prior = total - sum(float(scored[f"mw_{n}"]) for n in labels if scored.get(f"mw_{n}") is not None)
    return Evidence(rows, round(prior, 2), round(total, 2), item.probability)
