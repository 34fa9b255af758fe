"""The m and u probabilities search scores with: the trained match model's, where one is installed and names
the same comparison levels, else the documented defaults (``scoring.DEFAULT_LEVELS``)."""

from __future__ import annotations

from contactpoint.search.scoring import DEFAULT_LEVELS


def trained_levels() -> dict[str, dict[str, tuple[float, float]]]:
    try:
        # Imported at the first search, not when a web process starts: it loads Splink (about a second).
        from contactpoint.matching.model import search_levels  # noqa: PLC0415
    except ImportError:  # the matching stage is not installed
        return DEFAULT_LEVELS
    levels = {c: dict(lv) for c, lv in DEFAULT_LEVELS.items()}
    for comparison, trained in search_levels().items():
        if comparison in levels:
            levels[comparison].update({k: v for k, v in trained.items() if k in levels[comparison]})
    return levels
