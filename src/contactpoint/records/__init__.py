"""The record view: what a practitioner sees of one child, with shielding and sensitive services applied
(``view``), the involvements practitioners record themselves (``involvements``), brokering contact through
the local authority (``brokering``), and telling practitioners when someone else starts working with their child
(``notifications``)."""

__all__ = ["brokering", "involvements", "models", "notifications", "view"]
