"""The tamper-evident audit trail: one entry point (``record_event``), a hash chain, signed checkpoints."""
