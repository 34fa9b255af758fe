"""The practitioner-facing web layer: GOV.UK Design System pages, thin over the stage functions."""
