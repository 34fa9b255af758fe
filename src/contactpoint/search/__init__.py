"""Search: anti-trawling criteria (``criteria``, ``policy``), blind-index lookup, scoring with the match
model's weights (``scoring``, ``model_weights``), cap and rank, rate limits (DESIGN.md section 1)."""

__all__ = ["criteria", "model_weights", "models", "policy", "ratelimit", "scoring", "service"]
