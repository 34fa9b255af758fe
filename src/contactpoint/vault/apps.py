from django.apps import AppConfig


class VaultConfig(AppConfig):
    name = "contactpoint.vault"
    label = "vault"
