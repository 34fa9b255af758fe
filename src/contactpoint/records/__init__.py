"""The record view: what a practitioner sees of one child, with shielding and sensitive services applied, and
the involvements practitioners record themselves."""
