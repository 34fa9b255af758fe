"""The record view: what a practitioner sees of one child, with shielding and sensitive services applied
(``view``), the involvements practitioners record themselves (``involvements``), brokering contact through
the local authority (``brokering``), and telling practitioners when someone else starts working with their child
(``notifications``), and a local authority's corrections and completions of a record (``amendments``)."""

__all__ = ["amendments", "brokering", "involvements", "models", "notifications", "view"]
