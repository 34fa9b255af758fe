"""Matching: which source records are the same child (Splink, DuckDB by default, Spark for national batches)."""
