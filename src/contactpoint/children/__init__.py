"""The encrypted store of child records (Schedule 1): the record and its groups (``record``), identifiers
and their checks (``identifiers``), sealing a best view with its blind-index tokens (``sealing``, no Django),
reading and writing children (``store``), and the stored source record (``source_records``: what one source
says about a child, sealed with the child's data key)."""

__all__ = ["identifiers", "models", "record", "sealing", "source_records", "store"]
