"""The evidence behind a review item: how Splink compares the two children's records exactly as the data manager
sees them beside it (``shown_evidence``). Issue 18: evidence worked out from two other records (the source
records closest to each other) said "parents not known" beside two cards listing the same parents.

Worked out when a data manager opens the pair, from the records as they are then: both best views are profiled
in memory, scored by Splink's ``score_pair`` in an in-memory DuckDB that is dropped at once, and only the
comparison levels and match weights leave this module (words and numbers, never a value).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
from splink import DuckDBAPI, Linker

from contactpoint.children.record import Address, Carer, ChildRecord, PersonName
from contactpoint.matching.engine import connect, level_labels
from contactpoint.matching.model import trained_settings
from contactpoint.matching.models import ReviewItem
from contactpoint.matching.profile import SCHEMA, profile

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


@dataclass(frozen=True)
class _Shown:
    """A child's best view as profiling reads a record (``profile.Matchable``)."""

    name: PersonName
    former_family_names: tuple[str, ...]
    gender: Any
    date_of_birth: Any
    nhs_number: str | None
    upn: str | None
    uln: str | None
    address: Address | None
    carers: tuple[Carer, ...]


def _shown(record: ChildRecord) -> _Shown:
    def value(item: Any) -> Any:
        return item.value if item else None

    whereabouts = value(record.whereabouts)
    return _Shown(value(record.name) or PersonName("", ""), tuple(f.value.family for f in record.former_names),
                  value(record.gender), value(record.date_of_birth), value(record.nhs_number), value(record.upn),
                  value(record.uln), whereabouts.address if whereabouts else None,
                  tuple(c.value for c in record.carers))


def shown_evidence(item: ReviewItem, a: ChildRecord, b: ChildRecord) -> Evidence:
    """Splink's comparison of the two records the data manager sees side by side, level by level, so that the
    evidence agrees with them ("not known" only where a card says so). The probability shown beside it stays
    the one the feeds scored when they queued the pair."""
    left, right = profile("a", "best_view", _shown(a)), profile("b", "best_view", _shown(b))
    return _weighed(_score_pair(left, right), item.probability)


def _weighed(scored: dict[str, Any], probability: float | None) -> Evidence:
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
    return Evidence(rows, round(prior, 2), round(total, 2), probability)
