"""The best view: one record per child, chosen field by field from every linked source record, each value with
its provenance (``build``, ``rules``); and the discrepancies flagged back to sources (``discrepancies``: kept in
step with every rebuild; ``fetch_report``, the one audited fetch of a source's report, paged and filtered; and the
source's answers to its items, ``acknowledge`` and ``dispute``)."""

__all__ = ["build", "discrepancies", "models", "rules"]
