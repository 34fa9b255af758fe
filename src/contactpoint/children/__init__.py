"""The encrypted store of child records (Schedule 1), their identifiers and their validation."""
