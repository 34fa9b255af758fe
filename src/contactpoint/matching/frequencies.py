"""How common each given name, family name and postcode is: the match model's term-frequency adjustments.

Two records that agree on "Oliver Smith" say less than two that agree on "Zebedee Oyelaran": Splink's
term-frequency adjustment replaces an exact match's average u probability (the chance that two random records
agree) with the value's own frequency. Splink would otherwise count frequencies in the records it is given, and a
feed's batch is the wrong population: a name seen twice in a five-row delta would count as common. So the
frequencies are national, counted once over all children (``contactpoint match frequencies``: from the index, or
from the source files of a first load) and looked up for the values a batch holds.

What the table reveals: nothing linkable to a child. Each value is stored as a keyed hash (HMAC-SHA256 under a key
of the key ring's index root, 64 bits) with its count, never beside a child's ID, and values shared by fewer than
``FLOOR`` children are not stored at all: a rare name is not even known to exist. A value absent from the table
counts as shared by ``FLOOR`` (as rare as the table can say), and without a table (``Frequencies.load`` returns
None) the model scores without adjustments, as it was trained.
"""

from __future__ import annotations

import hmac
import secrets
from collections import Counter
from collections.abc import Iterable, Mapping
from copy import deepcopy
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pyarrow as pa
from django.db import transaction

from contactpoint import bulk
from contactpoint.matching.models import FrequencyTotal, TermFrequency
from contactpoint.vault.keyring import IndexKeyRing

COLUMNS = ("given", "family", "postcode")  # profile columns whose exact matches are adjusted
FLOOR = 10  # fewer children than this share a value: not stored, and looked up as shared by this many
_KEY = "term-frequency"
_TF_KEYS = ("tf_adjustment_column", "tf_adjustment_weight", "tf_minimum_u_value")


def token(key: bytes, column: str, value: str) -> int:
    """The value's keyed hash, as a signed 64-bit integer (a BIGINT); the column is part of what is hashed, so
    "ROSE" the given name and "ROSE" the family name are counted apart."""
    mac = hmac.digest(key, f"{column}\x1f{value}".encode(), "sha256")
    return int.from_bytes(mac[:8], "big", signed=True)


def count(profiles: Iterable[Mapping[str, Any]]) -> dict[str, Counter[str]]:
    """How often each value of ``COLUMNS`` occurs in the profiles (``matching.profile.profile``)."""
    out: dict[str, Counter[str]] = {c: Counter() for c in COLUMNS}
    for p in profiles:
        for column in COLUMNS:
            value = p.get(column)
            if value:
                out[column][value] += 1
    return out


def store(keyring: IndexKeyRing, counts: Mapping[str, Counter[str]], *, now: datetime, counted_from: str) -> int:
    """Replace the table with ``counts`` (only values at ``FLOOR`` or above). Returns how many values were kept."""
    key = keyring.index_key(_KEY)
    rows = {token(key, column, value): n for column in COLUMNS for value, n in counts.get(column, Counter()).items()
            if n >= FLOOR}
    with transaction.atomic():
        TermFrequency.objects.all().delete()
        bulk.insert("matching_term_frequency", ("token", "count"), rows.items())
        FrequencyTotal.objects.all().delete()
        FrequencyTotal.objects.bulk_create(
            FrequencyTotal(column=column, total=total, agreement=agreement, counted_at=now, counted_from=counted_from)
            for column, (total, agreement) in ((c, _totals(counts.get(c, Counter()))) for c in COLUMNS))
    return len(rows)


def _totals(counted: Counter[str]) -> tuple[int, float]:
    total = sum(counted.values())
    return total, sum((n / total) ** 2 for n in counted.values()) if total else 0.0


@dataclass(frozen=True)
class Frequencies:
    """The national table's totals and key: ``lookups`` gives a batch's values their frequencies."""

    key: bytes
    totals: Mapping[str, tuple[int, float]]  # column -> (values counted, chance two random ones agree)
    counted: Mapping[int, int] | None = None  # token -> count, when not read from the table (``of``)

    @classmethod
    def of(cls, counts: Mapping[str, Counter[str]]) -> Frequencies | None:
        """Frequencies counted in memory, not stored (training and evaluating the model on its own records)."""
        key = secrets.token_bytes(32)
        totals = {c: _totals(counts.get(c, Counter())) for c in COLUMNS}
        if not all(agreement > 0 for _, agreement in totals.values()):
            return None
        counted = {token(key, c, v): n for c in COLUMNS for v, n in counts.get(c, Counter()).items() if n >= FLOOR}
        return cls(key, totals, counted)

    @classmethod
    def load(cls, keyring: IndexKeyRing) -> Frequencies | None:
        """The table as counted last, or None if it never was (the model then scores without adjustments)."""
        totals = {c: (t, a) for c, t, a in FrequencyTotal.objects.values_list("column", "total", "agreement")}
        if not all(totals.get(c, (0, 0.0))[1] > 0 for c in COLUMNS):
            return None
        return cls(keyring.index_key(_KEY), totals)

    def lookups(self, table: pa.Table, u_exact: Mapping[str, float]) -> dict[str, pa.Table]:
        """For each of ``COLUMNS``, the distinct values of the profiles ``table`` with the u probability Splink is
        to use for an exact match on each (columns ``<column>`` and ``tf_<column>``, the lookup it registers).
        One query for all of them.

        Splink adjusts an exact match by log2(u / tf). Its u was trained on the model's training records, a
        population of another size and mix than England's, so the national frequency is not used as it is but
        relative to the national chance that two values agree: tf = u x frequency / agreement. A value as common
        as the average keeps the trained weight; a name ten times commoner loses log2(10) bits, a rarer one
        gains. (Used as it is, the national frequency of a postcode, about 2 in a million, against a trained u of
        2 in ten thousand, would add seven bits to every pair at one postcode.)"""
        wanted: dict[int, tuple[str, str]] = {}
        for column in COLUMNS:
            for value in table.column(column).unique().to_pylist():
                if value:
                    wanted[token(self.key, column, value)] = (column, value)
        counts = self.counted if self.counted is not None else dict(bulk.select_any(
            "SELECT token, count FROM matching_term_frequency WHERE token {any}", list(wanted)))
        values: dict[str, list[str]] = {c: [] for c in COLUMNS}
        tfs: dict[str, list[float]] = {c: [] for c in COLUMNS}
        for t, (column, value) in wanted.items():
            total, agreement = self.totals[column]
            values[column].append(value)
            tfs[column].append(u_exact[column] * max(counts.get(t, 0), FLOOR) / max(total, FLOOR) / agreement)
        return {c: pa.table({c: pa.array(values[c], pa.string()), f"tf_{c}": pa.array(tfs[c], pa.float64())})
                for c in COLUMNS}


def without_adjustments(settings: dict[str, Any]) -> dict[str, Any]:
    """The model's settings with no term-frequency adjustment (no national table to adjust by)."""
    out = dict(settings)
    out["comparisons"] = deepcopy(settings["comparisons"])
    for comparison in out["comparisons"]:
        for level in comparison["comparison_levels"]:
            for key in _TF_KEYS:
                level.pop(key, None)
    return out
