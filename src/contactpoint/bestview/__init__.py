"""The best view: one record per child, chosen field by field from every linked source record, each value with
its provenance (``build``, ``rules``); and the discrepancies flagged back to sources (``discrepancies``: kept in
step with every rebuild, and ``fetch_report``, the one audited fetch of a source's report)."""

__all__ = ["build", "discrepancies", "models", "rules"]
