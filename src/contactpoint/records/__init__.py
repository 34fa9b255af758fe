"""The record view: what a practitioner sees of one child, with shielding and sensitive services applied
(``view``), the involvements practitioners record themselves (``involvements``), and brokering contact through
the local authority (``brokering``)."""

__all__ = ["brokering", "involvements", "models", "view"]
