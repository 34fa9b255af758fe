from django.apps import AppConfig


class SyntheticConfig(AppConfig):
    name = "contactpoint.synthetic"
    label = "synthetic"
