"""Matching: which source records are the same child (Splink, DuckDB by default, Spark for national batches):
the model (``model``, ``train``), scoring (``engine``, with national term frequencies: ``frequencies``),
constrained clustering (``cluster``), the review queue
(``review``, ``evidence``), merges and splits (``merging``) and ``export-links`` (``links``, ``evaluate``)."""

__all__ = ["cluster", "engine", "evaluate", "evidence", "frequencies", "links", "merging", "model", "models",
           "profile", "review", "train"]
