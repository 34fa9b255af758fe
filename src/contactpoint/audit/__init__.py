"""The tamper-evident audit trail: one entry point (``trail.record_event``), a hash chain, signed checkpoints.
Every stage above writes to it; it imports nothing of theirs."""

__all__ = ["actions", "chain", "checkpoints", "models", "trail", "partitions"]
