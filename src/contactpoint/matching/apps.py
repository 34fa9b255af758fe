from django.apps import AppConfig


class MatchingConfig(AppConfig):
    name = "contactpoint.matching"
    label = "matching"
