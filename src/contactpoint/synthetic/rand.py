"""Fast draws from a ``random.Random``, for the generator's hot loops.

``Random.choice`` and ``Random.randint`` cost about a microsecond each (they draw exact integers bit by bit);
scaling one ``random()`` is several times cheaper, and at millions of children that is most of the run time.
The tiny bias of scaling a float (lists are far shorter than 2**53) does not matter for synthetic data.
Every draw still comes from the caller's seeded RNG, so output stays deterministic.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")


def pick(rng: random.Random, items: Sequence[T]) -> T:
    return items[int(rng.random() * len(items))]


def between(rng: random.Random, low: int, high: int) -> int:
    """An integer from ``low`` to ``high`` inclusive."""
    return low + int(rng.random() * (high - low + 1))
