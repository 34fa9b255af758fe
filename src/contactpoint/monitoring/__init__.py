"""Misuse detection: rules over the audit trail, alerts for auditors, access reports, checkpoint witnessing.

    audit trail ──► engine (cursor by seq) ──► rules ──► Alert (+ ALERT_RAISED in the trail) ──► auditors
                                   └──► health: checkpoints keep coming, the witness agrees with the chain
"""

__all__ = ["alerts", "engine", "health", "identity", "models", "reports", "rules", "thresholds", "worker"]
