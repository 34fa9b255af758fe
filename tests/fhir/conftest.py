from tests.api.clients import auth, generous_limits, practitioner, source_key, token  # noqa: F401 - fixtures
