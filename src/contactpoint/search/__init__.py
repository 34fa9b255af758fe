"""Search: anti-trawling criteria, blind-index lookup, scoring, cap and rank (DESIGN.md section 1)."""
