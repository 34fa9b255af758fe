"""The life of a record: live, archived at 18 (or 25 with consent), sealed, deleted (DESIGN.md section 1);
shielding decisions; and key rotation, which re-wraps every wrapped key in the store (children's data keys and
the audit's monthly keys) as the key ring changes over time."""

__all__ = ["archive", "common", "consent", "education", "models", "moves", "notices", "retention", "rotation",
           "run", "shielding", "transitions"]
