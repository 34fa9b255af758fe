"""Who may use ContactPoint: organisations, roles, users, the preconditions of access and login."""
