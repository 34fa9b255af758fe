"""Argon2 with light parameters, so that the suite's many sign-ins stay quick. Still Argon2, still the same
code paths; production uses Django's defaults (settings.PASSWORD_HASHERS)."""

from django.contrib.auth.hashers import Argon2PasswordHasher


class FastArgon2PasswordHasher(Argon2PasswordHasher):
    time_cost = 1
    memory_cost = 1024
    parallelism = 1
