"""CSV cells a spreadsheet shows as text and never runs (OWASP "CSV injection"): every export a person opens in a
spreadsheet (the access reports, the children missing education) writes its cells through ``safe_cell``."""

from __future__ import annotations

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    """A cell a spreadsheet shows as text, never runs: one starting = + - @ tab or CR gets a leading quote."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text
