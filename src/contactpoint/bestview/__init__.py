"""The best view: one record per child, chosen field by field from every linked source record, each value with
its provenance; and the discrepancies flagged back to sources."""
