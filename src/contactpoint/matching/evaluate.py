"""Measuring match quality against a truth file (``source,source_record_id,person_id``): pairwise precision,
recall and F1 of the clusters, the usual measure for record linkage."""

from __future__ import annotations

import csv
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Quality:
    precision: float
    recall: float
    f1: float
    true_pairs: int
    found_pairs: int

    def __str__(self) -> str:
        return (f"precision {self.precision:.4f}  recall {self.recall:.4f}  F1 {self.f1:.4f}  "
                f"({self.found_pairs} linked pairs, {self.true_pairs} true pairs)")


def read_truth(path: Path) -> dict[tuple[str, str], str]:
    with path.open(newline="", encoding="utf-8") as fh:
        return {(r["source"], r["source_record_id"]): r["person_id"] for r in csv.DictReader(fh)}


def pairwise(clusters: Iterable[tuple[tuple[str, str], str]], truth: dict[tuple[str, str], str]) -> Quality:
    """``clusters`` gives (source, source_record_id) -> cluster ID; records absent from truth are ignored."""
    members: dict[str, list[str]] = defaultdict(list)
    for record, cluster in clusters:
        if record in truth:
            members[cluster].append(truth[record])
    tp = fp = 0
    for people in members.values():
        n = len(people)
        same = sum(c * (c - 1) // 2 for c in Counter(people).values())
        tp += same
        fp += n * (n - 1) // 2 - same
    true_pairs = sum(c * (c - 1) // 2 for c in Counter(truth.values()).values())
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / true_pairs if true_pairs else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return Quality(precision, recall, f1, true_pairs, tp + fp)
