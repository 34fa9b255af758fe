"""Who may use ContactPoint: organisations, roles, users, the preconditions of access, sign-in and sessions,
source systems' keys, and the reasons a user states for a search or a view. Every entry point (web, API, FHIR,
CLI) checks these before it calls a stage."""

__all__ = ["administration", "api_sessions", "authentication", "models", "preconditions", "reasons", "roles",
           "sessions", "sources"]
